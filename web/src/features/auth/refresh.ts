import { ApiError } from "../../api/client";
import { getConfig } from "../../config";
import { RefreshRefused, refreshCognitoSession } from "./cognito";
import { currentToken, useAuth } from "./store";

/** Renews the ID token this long before it expires, so a request never carries a dying one. */
const RENEW_EARLY_MS = 60_000;

let renewing: Promise<string | null> | null = null;

/**
 * The bearer token for an API request: the session's own while it is good, else (Cognito) a
 * new one from the refresh token, one renewal at a time however many requests ask. A refused
 * refresh token signs the shopper out (the request then goes without a token and is answered
 * 401). A user pool that cannot be reached fails the request as a network error and leaves
 * the session, so that the next request tries again. A renewal that finishes after the
 * session it renewed was replaced (signed out, another user) changes nothing.
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
  const still = () => useAuth.getState().session?.refreshToken === session.refreshToken;
  renewing ??= refreshCognitoSession(auth, session)
    .then(
      (next) => {
        if (still()) useAuth.getState().signIn(next);
        return currentToken();
      },
      (error: unknown) => {
        if (!(error instanceof RefreshRefused)) {
          throw new ApiError(0, {
            code: "NETWORK_ERROR",
            title: "Network error",
            detail: "Could not renew your session. Check your connection and try again.",
          });
        }
        if (still()) useAuth.getState().signOut();
        return currentToken();
      },
    )
    .finally(() => {
      renewing = null;
    });
  return renewing;
}
