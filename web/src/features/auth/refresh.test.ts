import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { getConfig, setConfig } from "../../config";
import { json, mockFetch } from "../../test/http";
import { freshToken } from "./refresh";
import { useAuth, type Session } from "./store";

const pool = { mode: "cognito", region: "us-east-1", userPoolId: "us-east-1_x", clientId: "client-1", domain: "https://pool.test" } as const;
const devConfig = getConfig();

/** An unsigned JWT with these claims (the app reads claims; the API verifies). */
function jwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => btoa(JSON.stringify(v)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${part({ alg: "none" })}.${part(claims)}.sig`;
}

const expired: Session = {
  token: "old-token",
  user: "alice",
  admin: false,
  expiresAt: Date.now() - 1_000,
  mode: "cognito",
  refreshToken: "refresh-1",
};

beforeEach(() => setConfig({ ...devConfig, auth: pool }));
afterEach(() => {
  setConfig(devConfig);
  useAuth.getState().signOut();
  vi.unstubAllGlobals();
});

describe("freshToken", () => {
  it("hands out a good token at once, without the user pool", () => {
    mockFetch(() => json(500));
    useAuth.getState().signIn({ ...expired, token: "good", expiresAt: Date.now() + 3_600_000 });
    expect(freshToken()).toBe("good");
  });

  it("renews an expired ID token once, however many requests ask, and keeps the refresh token", async () => {
    const renewed = jwt({ "cognito:username": "alice", exp: Math.floor(Date.now() / 1000) + 3600 });
    const { calls } = mockFetch(() => json(200, { id_token: renewed, access_token: "access-2", token_type: "Bearer" }));
    useAuth.getState().signIn(expired);

    const tokens = await Promise.all([freshToken(), freshToken(), freshToken()]);
    expect(tokens).toEqual([renewed, renewed, renewed]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: "POST", url: "https://pool.test/oauth2/token" });
    expect(useAuth.getState().session).toMatchObject({ token: renewed, user: "alice", refreshToken: "refresh-1", mode: "cognito" });
  });

  it("signs out when the user pool refuses the refresh token", async () => {
    mockFetch(() => json(400, { error: "invalid_grant" }));
    useAuth.getState().signIn(expired);
    await expect(freshToken()).resolves.toBeNull();
    expect(useAuth.getState().session).toBeNull();
  });

  it("fails the request as a network error and keeps the session when the user pool cannot be reached", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("offline"))));
    useAuth.getState().signIn(expired);
    await expect(freshToken()).rejects.toMatchObject({ status: 0, code: "NETWORK_ERROR" });
    expect(useAuth.getState().session).toMatchObject({ refreshToken: "refresh-1" });
  });

  it("changes nothing when the session was replaced while it renewed", async () => {
    const renewed = jwt({ "cognito:username": "alice", exp: Math.floor(Date.now() / 1000) + 3600 });
    const { calls } = mockFetch(() => json(200, { id_token: renewed }));
    useAuth.getState().signIn(expired);
    const pending = freshToken();
    useAuth.getState().signOut();
    await expect(pending).resolves.toBeNull();
    expect(calls).toHaveLength(1);
    expect(useAuth.getState().session).toBeNull();
  });
});
