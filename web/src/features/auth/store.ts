import { create } from "zustand";
import { createJSONStorage, persist } from "zustand/middleware";
import { safeLocalStorage } from "../../lib/storage";
import { decodeJwt } from "./jwt";

export type Session = {
  /** Sent as `Authorization: Bearer` (the Cognito ID token in AWS). */
  token: string;
  accessToken?: string;
  /** Cognito's refresh token: trades for a new ID token when this one expires (`freshToken`). */
  refreshToken?: string;
  user: string;
  admin: boolean;
  /** Milliseconds since the epoch, from the token's `exp`. */
  expiresAt: number | null;
  mode: "dev" | "cognito";
};

type AuthState = {
  session: Session | null;
  signIn: (session: Session) => void;
  signOut: () => void;
};

export const useAuth = create<AuthState>()(
  persist(
    (set) => ({
      session: null,
      signIn: (session) => set({ session }),
      signOut: () => set({ session: null }),
    }),
    { name: "shop.auth", version: 1, storage: createJSONStorage(safeLocalStorage) },
  ),
);

/** Builds a session from a token, reading the user, admin group and expiry from its claims. */
export function sessionFromToken(token: string, mode: Session["mode"], fallbackUser?: string, accessToken?: string): Session {
  const claims = decodeJwt(token) ?? {};
  const groups = Array.isArray(claims["cognito:groups"]) ? claims["cognito:groups"] : [];
  const user =
    fallbackUser ||
    (typeof claims["cognito:username"] === "string" ? claims["cognito:username"] : undefined) ||
    (typeof claims.email === "string" ? claims.email : undefined) ||
    claims.sub ||
    "shopper";
  return {
    token,
    accessToken,
    user,
    admin: groups.includes("admin"),
    expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : null,
    mode,
  };
}

/** The session's token is still good (with 5 s to spare). */
export function tokenFresh(session: Session, now = Date.now()): boolean {
  return session.expiresAt === null || session.expiresAt > now + 5_000;
}

/** Signed in: a token that is still good, or (Cognito) a refresh token to get another. */
export function isSessionValid(session: Session | null, now = Date.now()): session is Session {
  return !!session && (tokenFresh(session, now) || (session.mode === "cognito" && !!session.refreshToken));
}

/** The current bearer token while it is good; null when signed out or when it needs a refresh. */
export function currentToken(): string | null {
  const { session } = useAuth.getState();
  return session && tokenFresh(session) ? session.token : null;
}

export function isSignedIn(): boolean {
  return isSessionValid(useAuth.getState().session);
}

/** Accepts only same-origin paths as a return target (no open redirects). */
export function safeReturnPath(path: unknown): string {
  if (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  if (path.startsWith("/signin") || path.startsWith("/auth/callback")) return "/";
  return path;
}
