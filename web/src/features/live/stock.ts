import type { QueryClient } from "@tanstack/react-query";
import { create } from "zustand";
import type { ProductDetail } from "../../api/types";

export type StockInfo = { available: number; inStock: boolean; at: number };

type StockState = {
  byId: Record<string, StockInfo>;
  status: "off" | "connecting" | "open" | "reconnecting";
  put: (productId: string, available: number, inStock: boolean) => void;
  setStatus: (status: StockState["status"]) => void;
};

/**
 * The latest availability learned per product (pushed over the live socket, or said by a 409
 * `INSUFFICIENT_INVENTORY`), with when it arrived.
 */
export const useStock = create<StockState>()((set) => ({
  byId: {},
  status: "off",
  put: (productId, available, inStock) =>
    set((s) => ({ byId: { ...s.byId, [productId]: { available, inStock, at: Date.now() } } })),
  setStatus: (status) => set({ status }),
}));

/**
 * Availability to show: the pushed figure when it is newer than the data the
 * page loaded (`loadedAt`, e.g. a query's dataUpdatedAt), else the loaded one.
 */
export function useAvailability(
  productId: string,
  loaded: { available: number; inStock: boolean } | undefined,
  loadedAt: number,
): { available: number; inStock: boolean } | undefined {
  const pushed = useStock((s) => s.byId[productId]);
  if (pushed && (!loaded || pushed.at >= loadedAt)) return pushed;
  return loaded;
}

export function availabilityLabel(a: { available: number; inStock: boolean } | undefined): string {
  if (!a) return "";
  if (!a.inStock || a.available <= 0) return "Out of stock";
  if (a.available <= 5) return `Only ${a.available} left`;
  return "In stock";
}

/**
 * Keeps the cached product details (`["product", id]`) in step with the availability the
 * store learns, so that everything reading them (the quantity picker among them) sees it.
 * Returns the function that stops it.
 */
export function syncProductCache(client: QueryClient): () => void {
  return useStock.subscribe((state, previous) => {
    for (const [productId, info] of Object.entries(state.byId)) {
      if (previous.byId[productId] === info) continue;
      client.setQueryData<ProductDetail>(["product", productId], (old) =>
        old ? { ...old, available: info.available, inStock: info.inStock } : old,
      );
    }
  });
}
