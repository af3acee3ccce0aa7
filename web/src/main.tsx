import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { onUnauthorized, setTokenSource } from "./api/client";
import { freshToken } from "./features/auth/refresh";
import { isSignedIn, useAuth } from "./features/auth/store";
import { useCart } from "./features/cart/store";
import { loadConfig } from "./config";
import { live } from "./features/live/client";
import { syncProductCache } from "./features/live/stock";
import { orderKeys } from "./features/orders/queries";
import { queryClient, router } from "./router";
import "./styles.css";

function wire(liveUrl: string | null): void {
  setTokenSource(freshToken);

  // A 401 on a signed-in call: the token is gone or expired; sign in again and come back.
  onUnauthorized(() => {
    if (useAuth.getState().session) useAuth.getState().signOut();
    const { pathname, href } = router.state.location;
    if (!pathname.startsWith("/signin") && !pathname.startsWith("/auth/")) {
      void router.navigate({ to: "/signin", search: { redirect: href } });
    }
  });

  // Another user (or none): the cart and the order lists are someone else's.
  useAuth.subscribe((state, prev) => {
    const user = state.session?.user ?? null;
    if (user === (prev.session?.user ?? null) && state.session?.token === prev.session?.token) return;
    if (user !== (prev.session?.user ?? null)) {
      useCart.getState().reset(user);
      queryClient.removeQueries({ queryKey: orderKeys.list });
      queryClient.removeQueries({ queryKey: orderKeys.details });
    }
    if (isSignedIn()) void useCart.getState().reconcile();
  });

  const cart = useCart.getState();
  const user = useAuth.getState().session?.user ?? null;
  if (!isSignedIn()) cart.reset(null);
  else {
    if (cart.owner !== null && cart.owner !== user) cart.reset(user);
    void useCart.getState().reconcile();
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && isSignedIn()) void useCart.getState().reconcile();
  });

  // Live stock: the cart's products are always watched.
  const cartIds = () => useCart.getState().lines.map((l) => l.productId);
  live.setCartIds(cartIds());
  useCart.subscribe((s, prev) => {
    if (s.lines !== prev.lines) live.setCartIds(cartIds());
  });
  syncProductCache(queryClient);
  // An order on screen changed (an admin moved it on): read it again.
  live.onOrder = ({ orderId }) => {
    void queryClient.invalidateQueries({ queryKey: orderKeys.detail(orderId) });
    void queryClient.invalidateQueries({ queryKey: orderKeys.list });
  };
  live.start(liveUrl);
}

function render(): void {
  createRoot(document.getElementById("root") as HTMLElement).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </StrictMode>,
  );
}

loadConfig().then(
  (config) => {
    wire(config.liveUrl);
    render();
  },
  (error: unknown) => {
    const root = document.getElementById("root") as HTMLElement;
    root.innerHTML = "";
    const box = document.createElement("div");
    box.className = "notice notice-error";
    box.setAttribute("role", "alert");
    box.textContent = `The shop could not start: ${error instanceof Error ? error.message : String(error)}`;
    root.append(box);
  },
);
