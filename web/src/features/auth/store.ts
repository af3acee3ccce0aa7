import { create } from "zustand";
import { createJSONStorage, persist } from "zustand/middleware";
import { safeLocalStorage } from "../../lib/storage";
import { decodeJwt } from "./jwt";

export type Session = {
  /** Sent as `Authorization: Bearer` (the Cognito ID token in AWS). */
  token: string;
  accessToken?: string;
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

export function isSessionValid(session: Session | null, now = Date.now()): session is Session {
  return !!session && (session.expiresAt === null || session.expiresAt > now + 5_000);
}

/** The current bearer token, or null when signed out or expired. */
export function currentToken(): string | null {
  const { session } = useAuth.getState();
  return isSessionValid(session) ? session.token : null;
}

export function isSignedIn(): boolean {
  return currentToken() !== null;
}

/** Accepts only same-origin paths as a return target (no open redirects). */
export function safeReturnPath(path: unknown): string {
  if (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  if (path.startsWith("/signin") || path.startsWith("/auth/callback")) return "/";
  return path;
}
