import { safeSessionStorage } from "../../lib/storage";
import { isValidAddress } from "./address";
import { STEPS, type CheckoutProgress } from "./machine";

/**
 * A checkout's progress, kept in this tab's sessionStorage (per user) so that a reload goes on
 * where the shopper was, with the same Idempotency-Key.
 */
const storageKey = (user: string) => `shop.checkout.${user}`;

/** The progress a reload left, if any and if it still reads as one. */
export function loadProgress(user: string, storage: Storage = safeSessionStorage()): CheckoutProgress | undefined {
  let saved: Partial<CheckoutProgress>;
  try {
    saved = JSON.parse(storage.getItem(storageKey(user)) ?? "null") ?? {};
  } catch {
    return undefined;
  }
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
  storage.setItem(storageKey(user), JSON.stringify(progress));
}

export function clearProgress(user: string, storage: Storage = safeSessionStorage()): void {
  storage.removeItem(storageKey(user));
}
