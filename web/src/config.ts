/** Runtime configuration, fetched from `/config.json` on the SPA's own origin at start. */

export type DevAuth = { mode: "dev"; tokenUrl: string };
export type CognitoAuth = {
  mode: "cognito";
  region: string;
  userPoolId: string;
  clientId: string;
  /** Hosted UI base, e.g. https://prefix.auth.us-east-1.amazoncognito.com */
  domain: string;
};

export type AppConfig = {
  apiUrl: string;
  liveUrl: string | null;
  auth: DevAuth | CognitoAuth;
};

let current: AppConfig | null = null;

export function getConfig(): AppConfig {
  if (!current) throw new Error("configuration not loaded yet");
  return current;
}

export function setConfig(config: AppConfig): void {
  current = config;
}

function str(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") throw new Error(`config.json: ${name} must be a non-empty string`);
  return value;
}

/** Checks the shape of config.json and strips trailing slashes from URLs. */
export function parseConfig(raw: unknown): AppConfig {
  if (!raw || typeof raw !== "object") throw new Error("config.json: expected an object");
  const r = raw as Record<string, unknown>;
  const apiUrl = str(r.apiUrl, "apiUrl").replace(/\/+$/, "");
  const liveUrl = typeof r.liveUrl === "string" && r.liveUrl !== "" ? r.liveUrl : null;
  const a = (r.auth ?? { mode: "dev", tokenUrl: "/dev/token" }) as Record<string, unknown>;
  let auth: AppConfig["auth"];
  if (a.mode === "cognito") {
    auth = {
      mode: "cognito",
      region: str(a.region, "auth.region"),
      userPoolId: str(a.userPoolId, "auth.userPoolId"),
      clientId: str(a.clientId, "auth.clientId"),
      domain: str(a.domain, "auth.domain").replace(/\/+$/, ""),
    };
  } else if (a.mode === "dev" || a.mode === undefined) {
    auth = { mode: "dev", tokenUrl: typeof a.tokenUrl === "string" ? a.tokenUrl : "/dev/token" };
  } else {
    throw new Error(`config.json: unknown auth.mode ${String(a.mode)}`);
  }
  return { apiUrl, liveUrl, auth };
}

export async function loadConfig(): Promise<AppConfig> {
  const res = await fetch("/config.json", { cache: "no-store", headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`GET /config.json answered ${res.status}`);
  const config = parseConfig(await res.json());
  setConfig(config);
  return config;
}
