import type { CognitoAuth } from "../../config";
import { safeReturnPath, sessionFromToken, type Session } from "./store";

/**
 * Cognito hosted UI, authorization-code flow with PKCE (public client, no secret).
 * The verifier, state and return path wait in sessionStorage during the round trip.
 */
const PENDING_KEY = "shop.pkce";

export function callbackUrl(): string {
  return `${window.location.origin}/auth/callback`;
}

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

export async function startCognitoSignIn(auth: CognitoAuth, returnTo: string): Promise<void> {
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, returnTo: safeReturnPath(returnTo) }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: auth.clientId,
    redirect_uri: callbackUrl(),
    scope: "openid email profile",
    state,
    code_challenge_method: "S256",
    code_challenge: await pkceChallenge(verifier),
  });
  window.location.assign(`${auth.domain}/oauth2/authorize?${params}`);
}

/** Finishes the flow on /auth/callback: checks `state`, trades the code for tokens. */
export async function completeCognitoSignIn(
  auth: CognitoAuth,
  query: URLSearchParams,
): Promise<{ session: Session; returnTo: string }> {
  const error = query.get("error");
  if (error) throw new Error(query.get("error_description") || `Sign-in failed: ${error}`);
  const code = query.get("code");
  const pendingRaw = sessionStorage.getItem(PENDING_KEY);
  if (!code || !pendingRaw) throw new Error("This sign-in link is incomplete or was already used. Please sign in again.");
  const pending = JSON.parse(pendingRaw) as { verifier: string; state: string; returnTo: string };
  if (query.get("state") !== pending.state) throw new Error("Sign-in state did not match. Please sign in again.");
  sessionStorage.removeItem(PENDING_KEY);

  const res = await fetch(`${auth.domain}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.clientId,
      code,
      redirect_uri: callbackUrl(),
      code_verifier: pending.verifier,
    }),
  });
  const tokens = await readTokens(res);
  return {
    session: { ...sessionFromToken(tokens.id_token, "cognito", undefined, tokens.access_token), refreshToken: tokens.refresh_token },
    returnTo: safeReturnPath(pending.returnTo),
  };
}

/** The user pool refused the refresh token (expired, revoked): the shopper must sign in again. */
export class RefreshRefused extends Error {}

/**
 * A new ID token for `session` from its refresh token (the token endpoint's `refresh_token`
 * grant). Cognito answers without a new refresh token, so the session keeps its own.
 */
export async function refreshCognitoSession(auth: CognitoAuth, session: Session): Promise<Session> {
  const res = await fetch(`${auth.domain}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", client_id: auth.clientId, refresh_token: session.refreshToken ?? "" }),
  });
  if (res.status === 400 || res.status === 401) throw new RefreshRefused(`The session could not be renewed (${res.status}).`);
  const tokens = await readTokens(res);
  return {
    ...sessionFromToken(tokens.id_token, "cognito", undefined, tokens.access_token),
    refreshToken: tokens.refresh_token ?? session.refreshToken,
  };
}

type Tokens = { id_token: string; access_token?: string; refresh_token?: string };

/** The token endpoint's answer, or an error saying why there is none. */
async function readTokens(res: Response): Promise<Tokens> {
  const tokens = (await res.json().catch(() => ({}))) as Partial<Tokens> & { error?: string; error_description?: string };
  if (!res.ok || !tokens.id_token) {
    throw new Error(tokens.error_description || tokens.error || `Token exchange failed (${res.status}).`);
  }
  return tokens as Tokens;
}

export function cognitoLogoutUrl(auth: CognitoAuth): string {
  const params = new URLSearchParams({ client_id: auth.clientId, logout_uri: `${window.location.origin}/` });
  return `${auth.domain}/logout?${params}`;
}
