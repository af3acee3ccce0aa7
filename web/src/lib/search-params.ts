/**
 * Plain query strings (`?q=desk&brand=Acme&brand=Zeta`) instead of the router's
 * default JSON encoding: repeated keys become arrays; nothing is JSON-quoted.
 */
export function parseSearch(searchStr: string): Record<string, unknown> {
  const qs = new URLSearchParams(searchStr.startsWith("?") ? searchStr.slice(1) : searchStr);
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of qs) {
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

export function stringifySearch(search: Record<string, unknown>): string {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(search)) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    if (Array.isArray(value)) {
      for (const v of value) if (v !== undefined && v !== null && v !== "") qs.append(key, String(v));
    } else if (typeof value === "object") {
      qs.append(key, JSON.stringify(value));
    } else {
      qs.append(key, String(value));
    }
  }
  const s = qs.toString();
  return s ? `?${s}` : "";
}

export function optString(v: unknown): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" && s.trim() !== "" ? s : undefined;
}

export function optInt(v: unknown): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  const n = typeof s === "number" ? s : typeof s === "string" && /^\d+$/.test(s) ? Number(s) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export function stringList(v: unknown): string[] | undefined {
  const list = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string" && x !== "");
  return list.length ? Array.from(new Set(list)) : undefined;
}

export function optEnum<T extends string>(v: unknown, allowed: readonly T[]): T | undefined {
  const s = optString(v);
  return s && (allowed as readonly string[]).includes(s) ? (s as T) : undefined;
}
