import { safeSessionStorage } from "../../lib/storage";
import { isValidAddress } from "./address";
import { STEPS, type CheckoutProgress } from "./machine";

/**
 * A checkout's progress, kept in this tab's sessionStorage (per user) so that a reload goes on
 * where the shopper was, with the same Idempotency-Key. A reload comes back at once; progress
 * older than this was left behind some other way (a typed address, a closed laptop) and is not
 * resumed: the cart's reservations are gone by then anyway.
 */
export const PROGRESS_KEPT_MS = 30 * 60_000;

const storageKey = (user: string) => `shop.checkout.${user}`;

/** The progress a reload left, if any and if it still reads as one. */
export function loadProgress(
  user: string,
  storage: Storage = safeSessionStorage(),
  now = Date.now(),
): CheckoutProgress | undefined {
  let saved: Partial<CheckoutProgress> & { savedAt?: unknown };
  try {
    saved = JSON.parse(storage.getItem(storageKey(user)) ?? "null") ?? {};
  } catch {
    return undefined;
  }
  if (typeof saved.savedAt !== "number" || now - saved.savedAt > PROGRESS_KEPT_MS) return undefined;
  if (!STEPS.includes(saved.step as CheckoutProgress["step"])) return undefined;
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  return {
    step: saved.step as CheckoutProgress["step"],
    address: isValidAddress(saved.address) ? saved.address : null,
    paymentMethodId: text(saved.paymentMethodId),
    idempotencyKey: text(saved.idempotencyKey),
    keyFor: text(saved.keyFor),
    order: saved.order && typeof saved.order === "object" && "orderId" in saved.order ? saved.order : null,
  };
}

export function saveProgress(user: string, progress: CheckoutProgress, storage: Storage = safeSessionStorage()): void {
  storage.setItem(storageKey(user), JSON.stringify({ ...progress, savedAt: Date.now() }));
}

export function clearProgress(user: string, storage: Storage = safeSessionStorage()): void {
  storage.removeItem(storageKey(user));
}
