import { create } from "zustand";

/** A short notice of an outcome ("Added 2 × … to your cart"), shown for a few seconds. */
export type Toast = { id: number; tone: "ok" | "warn"; text: string };

type UiState = {
  cartOpen: boolean;
  openCart: () => void;
  closeCart: () => void;
  toggleCart: () => void;
  toasts: Toast[];
  toast: (tone: Toast["tone"], text: string) => void;
  dismiss: (id: number) => void;
};

/** How long a toast stays, and how many show at once (the oldest go first). */
export const TOAST_MS = 5000;
const MAX_TOASTS = 3;
let nextToast = 1;

export const useUi = create<UiState>()((set) => ({
  cartOpen: false,
  openCart: () => set({ cartOpen: true }),
  closeCart: () => set({ cartOpen: false }),
  toggleCart: () => set((s) => ({ cartOpen: !s.cartOpen })),
  toasts: [],
  toast: (tone, text) => {
    const id = nextToast++;
    set((s) => ({ toasts: [...s.toasts, { id, tone, text }].slice(-MAX_TOASTS) }));
    setTimeout(() => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })), TOAST_MS);
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
}));
