import type { QueryClient } from "@tanstack/react-query";
import { createRootRouteWithContext, createRoute, lazyRouteComponent, redirect } from "@tanstack/react-router";
import { isSignedIn, safeReturnPath } from "./auth/store";
import { RootLayout } from "./components/RootLayout";
import { optEnum, optString, validateSearchQuery } from "./lib/search-params";
import type { BrowseSort } from "./api/types";

export type RouterContext = { queryClient: QueryClient };

export const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: RootLayout,
});

const homeRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/",
  component: lazyRouteComponent(() => import("./pages/HomePage"), "HomePage"),
});

const searchRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/search",
  validateSearch: validateSearchQuery,
  component: lazyRouteComponent(() => import("./pages/SearchPage"), "SearchPage"),
});

const BROWSE_SORTS: readonly BrowseSort[] = ["rating", "price_asc", "price_desc", "newest"];

const categoryRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/categories/$categoryId",
  validateSearch: (raw: Record<string, unknown>): { sort?: BrowseSort } => ({ sort: optEnum(raw.sort, BROWSE_SORTS) }),
  component: lazyRouteComponent(() => import("./pages/CategoryPage"), "CategoryPage"),
});

const productRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/products/$productId",
  component: lazyRouteComponent(() => import("./pages/ProductPage"), "ProductPage"),
});

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/signin",
  validateSearch: (raw: Record<string, unknown>): { redirect?: string } => {
    const r = optString(raw.redirect);
    return { redirect: r ? safeReturnPath(r) : undefined };
  },
  component: lazyRouteComponent(() => import("./pages/SignInPage"), "SignInPage"),
});

const authCallbackRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/auth/callback",
  component: lazyRouteComponent(() => import("./pages/AuthCallbackPage"), "AuthCallbackPage"),
});

/** Shopper routes: signed-in only; otherwise to /signin with the way back. */
const shopperRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "_shopper",
  beforeLoad: ({ location }) => {
    if (!isSignedIn()) {
      throw redirect({ to: "/signin", search: { redirect: location.href } });
    }
  },
});

const checkoutRoute = createRoute({
  getParentRoute: () => shopperRoute,
  path: "/checkout",
  component: lazyRouteComponent(() => import("./pages/CheckoutPage"), "CheckoutPage"),
});

const ordersRoute = createRoute({
  getParentRoute: () => shopperRoute,
  path: "/orders",
  component: lazyRouteComponent(() => import("./pages/OrdersPage"), "OrdersPage"),
});

const orderRoute = createRoute({
  getParentRoute: () => shopperRoute,
  path: "/orders/$orderId",
  component: lazyRouteComponent(() => import("./pages/OrderPage"), "OrderPage"),
});

export const routeTree = rootRoute.addChildren([
  homeRoute,
  searchRoute,
  categoryRoute,
  productRoute,
  signInRoute,
  authCallbackRoute,
  shopperRoute.addChildren([checkoutRoute, ordersRoute, orderRoute]),
]);
