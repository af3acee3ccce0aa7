import { ApiError } from "../../api/client";
import type { Problem } from "../../api/types";
import type { DevAuth } from "../../config";
import { sessionFromToken, type Session } from "./store";

/** Local sign-in: `POST {tokenUrl}` `{ user, admin }` → `{ token, user }` (served by the runner). */
export async function devSignIn(auth: DevAuth, user: string, admin: boolean): Promise<Session> {
  let res: Response;
  try {
    res = await fetch(auth.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ user, admin }),
    });
  } catch {
    throw new ApiError(0, { code: "NETWORK_ERROR", detail: "Could not reach the sign-in service." });
  }
  const data = (await res.json().catch(() => null)) as { token?: string; user?: string } & Problem;
  if (!res.ok || !data || typeof data.token !== "string") {
    throw new ApiError(res.status, {
      ...(data ?? {}),
      detail: data?.detail || `Sign-in failed (${res.status}).`,
    });
  }
  return sessionFromToken(data.token, "dev", data.user || user);
}
