import { create } from "zustand";
import { createJSONStorage, persist, type StateStorage } from "zustand/middleware";
import { ApiError, errorMessage } from "../../api/client";
import * as api from "../../api/endpoints";
import type { CartLine, Money } from "../../api/types";
import { isSignedIn, useAuth } from "../auth/store";
import { useStock } from "../live/stock";
import { safeLocalStorage } from "../../lib/storage";
import { useUi } from "../../lib/ui";

export const MAX_PER_LINE = 10;

export type CartItem = {
  productId: string;
  title: string;
  quantity: number;
  unitPrice: Money;
  /** Null while the line's first reservation is on its way. */
  reservedUntil: string | null;
  reserved: boolean;
  /** True while a change to this line waits for the API. */
  pending: boolean;
};

export type CartError = { productId: string | null; code: string; message: string };

export type ProductRef = { productId: string; title: string; price: Money };

export type CartState = {
  /** The user the lines belong to. */
  owner: string | null;
  lines: CartItem[];
  error: CartError | null;
  syncedAt: number | null;
  add: (product: ProductRef, quantity: number) => Promise<boolean>;
  setQuantity: (productId: string, quantity: number) => Promise<boolean>;
  /** Renews an expired (or expiring) reservation by setting the same quantity again. */
  renew: (productId: string) => Promise<boolean>;
  remove: (productId: string) => Promise<boolean>;
  /** Replaces the local lines with `GET /cart`, keeping lines whose changes are still in flight. */
  reconcile: () => Promise<void>;
  clearError: () => void;
  reset: (owner?: string | null) => void;
};

function fromServer(line: CartLine): CartItem {
  return {
    productId: line.productId,
    title: line.title,
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    reservedUntil: line.reservedUntil,
    reserved: line.reserved ?? true,
    pending: false,
  };
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * A 409 `INSUFFICIENT_INVENTORY` says how many units of the product are left: the shop's
 * latest word on it, kept with the pushed figures.
 */
function learnAvailability(productId: string | null, error: unknown): void {
  if (!productId || !(error instanceof ApiError) || error.code !== "INSUFFICIENT_INVENTORY") return;
  const available = num(error.problem.available);
  if (available !== null) useStock.getState().put(productId, available, available > 0);
}

/** The message a shopper sees when the API refuses a cart change. */
export function refusalMessage(error: unknown, title: string, context: { adding?: number; keptAt?: number }): string {
  if (error instanceof ApiError) {
    const p = error.problem;
    switch (error.code) {
      case "INSUFFICIENT_INVENTORY": {
        const available = num(p.available);
        if (available === null) break;
        if (context.keptAt !== undefined) {
          return available <= 0
            ? `No more of “${title}” available, so it stays at ${context.keptAt}.`
            : `Only ${available} more left of “${title}”, so it stays at ${context.keptAt}.`;
        }
        return available <= 0
          ? `“${title}” is sold out, so it was not added.`
          : `Only ${available} left of “${title}”, so ${context.adding ?? "these"} could not be added.`;
      }
      case "LINE_QUANTITY_LIMIT":
        return `A cart line holds at most ${num(p.maxPerLine) ?? MAX_PER_LINE} of one product.`;
      case "CART_FULL":
        return `Your cart is full (at most ${num(p.maxLines) ?? 20} different products).`;
      case "HOLD_LIMIT_REACHED": {
        const until = typeof p.retryAfter === "string" ? new Date(p.retryAfter) : null;
        const when =
          until && !Number.isNaN(until.getTime())
            ? ` until ${until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`
            : " for a while";
        return `You have held “${title}” for the longest time one shopper may (${num(p.maxHoldMinutes) ?? 60} minutes); it is on sale to others${when}.`;
      }
      default:
        break;
    }
  }
  return errorMessage(error);
}

export function lineExpired(line: Pick<CartItem, "reserved" | "reservedUntil">, now = Date.now()): boolean {
  if (!line.reserved) return true;
  return line.reservedUntil !== null && Date.parse(line.reservedUntil) <= now;
}

/** Sum of the lines that still hold their stock (as the API counts it). */
export function cartSubtotal(lines: CartItem[], now = Date.now()): Money | null {
  const live = lines.filter((l) => !lineExpired(l, now));
  const first = lines[0];
  if (!first) return null;
  return {
    amount: live.reduce((sum, l) => sum + l.unitPrice.amount * l.quantity, 0),
    currency: first.unitPrice.currency,
  };
}

export function cartCount(lines: CartItem[]): number {
  return lines.reduce((n, l) => n + l.quantity, 0);
}

export function createCartStore(storage: () => StateStorage = safeLocalStorage) {
  // Per product: how many changes are in flight, and a counter bumped on each
  // settled change, so that a GET /cart answer never overwrites a newer local change.
  const inflight = new Map<string, number>();
  const versions = new Map<string, number>();
  const begin = (id: string) => inflight.set(id, (inflight.get(id) ?? 0) + 1);
  const end = (id: string) => {
    const n = (inflight.get(id) ?? 1) - 1;
    if (n <= 0) inflight.delete(id);
    else inflight.set(id, n);
    versions.set(id, (versions.get(id) ?? 0) + 1);
  };
  const busy = (id: string) => (inflight.get(id) ?? 0) > 0;

  return create<CartState>()(
    persist(
      (set, get) => {
        const update = (productId: string, fn: (line: CartItem) => CartItem | null) =>
          set((s) => {
            const lines: CartItem[] = [];
            for (const line of s.lines) {
              if (line.productId !== productId) lines.push(line);
              else {
                const next = fn(line);
                if (next) lines.push(next);
              }
            }
            return { lines };
          });
        const applyServerLine = (line: CartLine) =>
          update(line.productId, () => ({ ...fromServer(line), pending: busy(line.productId) }));
        const fail = (productId: string | null, error: unknown, message: string) => {
          learnAvailability(productId, error);
          set({ error: { productId, code: error instanceof ApiError ? error.code : "ERROR", message } });
          useUi.getState().toast("warn", message);
        };

        return {
          owner: null,
          lines: [],
          error: null,
          syncedAt: null,

          async add(product, quantity) {
            const existing = get().lines.find((l) => l.productId === product.productId);
            if (existing && existing.quantity + quantity > MAX_PER_LINE) {
              const message = `A cart line holds at most ${MAX_PER_LINE}; you already have ${existing.quantity} of “${product.title}”.`;
              set({ error: { productId: product.productId, code: "LINE_QUANTITY_LIMIT", message } });
              useUi.getState().toast("warn", message);
              return false;
            }
            // Optimistic: the line shows at once.
            if (existing) {
              update(product.productId, (l) => ({ ...l, quantity: l.quantity + quantity, pending: true }));
              set({ error: null });
            } else {
              set((s) => ({
                error: null,
                owner: s.owner ?? useAuth.getState().session?.user ?? null,
                lines: [
                  ...s.lines,
                  {
                    productId: product.productId,
                    title: product.title,
                    quantity,
                    unitPrice: product.price,
                    reservedUntil: null,
                    reserved: true,
                    pending: true,
                  },
                ],
              }));
            }
            begin(product.productId);
            try {
              const line = await api.addCartItem(product.productId, quantity);
              end(product.productId);
              applyServerLine(line);
              useUi.getState().toast("ok", `Added ${quantity} × “${product.title}” to your cart.`);
              return true;
            } catch (e) {
              end(product.productId);
              // Roll back exactly what this call added.
              update(product.productId, (l) => {
                const left = l.quantity - quantity;
                return left > 0 ? { ...l, quantity: left, pending: busy(l.productId) } : null;
              });
              fail(product.productId, e, refusalMessage(e, product.title, { adding: quantity }));
              return false;
            }
          },

          async setQuantity(productId, quantity) {
            const before = get().lines.find((l) => l.productId === productId);
            if (!before) return false;
            const q = Math.min(MAX_PER_LINE, Math.max(1, Math.round(quantity)));
            update(productId, (l) => ({ ...l, quantity: q, pending: true }));
            set({ error: null });
            begin(productId);
            try {
              const line = await api.setCartItemQuantity(productId, q);
              end(productId);
              applyServerLine(line);
              return true;
            } catch (e) {
              end(productId);
              if (e instanceof ApiError && e.status === 404) {
                update(productId, () => null);
                fail(productId, e, `“${before.title}” is no longer in your cart.`);
                return false;
              }
              // Roll back unless a later change has already replaced ours.
              update(productId, (l) => ({
                ...l,
                quantity: l.quantity === q ? before.quantity : l.quantity,
                pending: busy(productId),
              }));
              fail(productId, e, refusalMessage(e, before.title, { keptAt: before.quantity }));
              return false;
            }
          },

          async renew(productId) {
            const line = get().lines.find((l) => l.productId === productId);
            return line ? get().setQuantity(productId, line.quantity) : false;
          },

          async remove(productId) {
            const lines = get().lines;
            const index = lines.findIndex((l) => l.productId === productId);
            const removed = lines[index];
            if (!removed) return false;
            update(productId, () => null);
            set({ error: null });
            begin(productId);
            try {
              await api.removeCartItem(productId);
              end(productId);
              return true;
            } catch (e) {
              end(productId);
              if (e instanceof ApiError && e.status === 404) return true; // already gone
              set((s) => {
                if (s.lines.some((l) => l.productId === productId)) return s;
                const next = [...s.lines];
                next.splice(Math.min(index, next.length), 0, { ...removed, pending: false });
                return { lines: next };
              });
              fail(productId, e, `Couldn't remove “${removed.title}”: ${errorMessage(e)}`);
              return false;
            }
          },

          async reconcile() {
            if (!isSignedIn()) return;
            const user = useAuth.getState().session?.user ?? null;
            const started = new Map(versions);
            let cart;
            try {
              cart = await api.getCart();
            } catch (e) {
              if (e instanceof ApiError && e.status === 401) set({ lines: [], owner: null });
              return;
            }
            set((s) => {
              const changed = (id: string) => busy(id) || (versions.get(id) ?? 0) !== (started.get(id) ?? 0);
              const local = s.owner === user ? s.lines : [];
              const lines: CartItem[] = [];
              for (const item of cart.items) {
                if (changed(item.productId)) {
                  const mine = local.find((l) => l.productId === item.productId);
                  if (mine) lines.push(mine);
                } else {
                  lines.push(fromServer(item));
                }
              }
              // Lines the server doesn't have yet but whose add is still on its way.
              for (const l of local) {
                if (changed(l.productId) && !lines.some((x) => x.productId === l.productId)) lines.push(l);
              }
              return { lines, owner: user, syncedAt: Date.now() };
            });
          },

          clearError: () => set({ error: null }),
          reset: (owner = null) => set({ lines: [], error: null, owner, syncedAt: null }),
        };
      },
      {
        name: "shop.cart",
        version: 1,
        storage: createJSONStorage(storage),
        partialize: (s) => ({ owner: s.owner, lines: s.lines.map((l) => ({ ...l, pending: false })) }),
      },
    ),
  );
}

export type CartStore = ReturnType<typeof createCartStore>;

/** The app's cart. */
export const useCart = createCartStore();
