import { getConfig } from "../../config";
import { RefreshRefused, refreshCognitoSession } from "./cognito";
import { currentToken, useAuth } from "./store";

/** Renews the ID token this long before it expires, so a request never carries a dying one. */
const RENEW_EARLY_MS = 60_000;

let renewing: Promise<string | null> | null = null;

/**
 * The bearer token for an API request: the session's own while it is good, else (Cognito) a
 * new one from the refresh token, one renewal at a time however many requests ask. A refused
 * refresh token signs the shopper out; a failure to reach the user pool leaves the session as
 * it is (the request goes without a token and is answered 401).
 */
export function freshToken(): string | null | Promise<string | null> {
  const { session } = useAuth.getState();
  const auth = getConfig().auth;
  const renew =
    !!session &&
    session.mode === "cognito" &&
    !!session.refreshToken &&
    auth.mode === "cognito" &&
    session.expiresAt !== null &&
    session.expiresAt <= Date.now() + RENEW_EARLY_MS;
  if (!renew) return currentToken();
  renewing ??= refreshCognitoSession(auth, session)
    .then(
      (next) => {
        useAuth.getState().signIn(next);
        return next.token;
      },
      (error: unknown) => {
        if (error instanceof RefreshRefused) useAuth.getState().signOut();
        return currentToken();
      },
    )
    .finally(() => {
      renewing = null;
    });
  return renewing;
}
