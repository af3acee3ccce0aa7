import { vi } from "vitest";

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
export type Call = { method: string; url: string; headers: Record<string, string>; body: unknown };

export function json(status: number, body?: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body, headers };
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Reply {
  return {
    status,
    body: { type: `https://errors.example/${code}`, title: code, status, detail, code, ...extra },
    headers: { "content-type": "application/problem+json" },
  };
}

/**
 * Replaces global fetch. `handler` answers each request (it may return a
 * promise, to hold a request open); every call is recorded.
 */
export function mockFetch(handler: (call: Call) => Reply | Promise<Reply>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init.headers as Record<string, string>) ?? {})) headers[k.toLowerCase()] = v;
    const call: Call = {
      method: init.method ?? "GET",
      url: String(input),
      headers,
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const reply = await handler(call);
    const text = reply.body === undefined ? null : JSON.stringify(reply.body);
    return new Response(reply.status === 204 ? null : text, {
      status: reply.status,
      headers: { "content-type": "application/json", ...reply.headers },
    });
  });
  vi.stubGlobal("fetch", fn);
  return { fn, calls };
}

/** A promise with its resolve exposed, to hold a mocked request open. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
