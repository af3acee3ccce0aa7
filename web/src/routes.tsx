import type { QueryClient } from "@tanstack/react-query";
import { createRootRouteWithContext, createRoute, lazyRouteComponent, redirect } from "@tanstack/react-router";
import type { BrowseSort } from "./api/types";
import { RootLayout } from "./components/RootLayout";
import { isSignedIn, safeReturnPath } from "./features/auth/store";
import { categoriesQuery, categoryProductsQuery, productQuery, recommendationsQuery } from "./features/catalog/queries";
import { orderQuery, ordersQuery } from "./features/orders/queries";
import { searchParamsOf, validateSearchQuery } from "./features/search/params";
import { searchQuery } from "./features/search/queries";
import { optEnum, optString } from "./lib/search-params";

export type RouterContext = { queryClient: QueryClient };

/**
 * A loader's wait for its page's main data. Entering the route (or preloading it on intent)
 * waits for it; a change of params or search on the page already shown does not, so the
 * page keeps its content (and the search box its focus) while the new data loads. Never
 * throws: a failure is left in the query for the page to show, as without a loader.
 */
function settle(cause: "preload" | "enter" | "stay", loading: Promise<unknown>): Promise<void> | undefined {
  const settled = loading.then(
    () => undefined,
    () => undefined,
  );
  return cause === "stay" ? undefined : settled;
}

export const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: RootLayout,
});

const homeRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/",
  component: lazyRouteComponent(() => import("./features/catalog/HomePage"), "HomePage"),
});

const searchRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/search",
  validateSearch: validateSearchQuery,
  loaderDeps: ({ search }) => searchParamsOf(search),
  loader: ({ context: { queryClient }, deps, cause }) => {
    void queryClient.prefetchQuery(categoriesQuery());
    return settle(cause, queryClient.ensureInfiniteQueryData(searchQuery(deps)));
  },
  component: lazyRouteComponent(() => import("./features/search/SearchPage"), "SearchPage"),
});

const BROWSE_SORTS: readonly BrowseSort[] = ["rating", "price_asc", "price_desc", "newest"];

const categoryRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/categories/$categoryId",
  validateSearch: (raw: Record<string, unknown>): { sort?: BrowseSort } => ({ sort: optEnum(raw.sort, BROWSE_SORTS) }),
  loaderDeps: ({ search }) => ({ sort: search.sort }),
  loader: ({ context: { queryClient }, params, deps, cause }) => {
    void queryClient.prefetchQuery(categoriesQuery());
    return settle(cause, queryClient.ensureInfiniteQueryData(categoryProductsQuery(params.categoryId, deps.sort)));
  },
  component: lazyRouteComponent(() => import("./features/catalog/CategoryPage"), "CategoryPage"),
});

const productRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/products/$productId",
  loader: ({ context: { queryClient }, params, cause }) => {
    void queryClient.prefetchQuery(recommendationsQuery(params.productId));
    void queryClient.prefetchQuery(categoriesQuery());
    return settle(cause, queryClient.ensureQueryData(productQuery(params.productId)));
  },
  component: lazyRouteComponent(() => import("./features/catalog/ProductPage"), "ProductPage"),
});

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/signin",
  validateSearch: (raw: Record<string, unknown>): { redirect?: string } => {
    const r = optString(raw.redirect);
    return { redirect: r ? safeReturnPath(r) : undefined };
  },
  component: lazyRouteComponent(() => import("./features/auth/SignInPage"), "SignInPage"),
});

const authCallbackRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/auth/callback",
  component: lazyRouteComponent(() => import("./features/auth/AuthCallbackPage"), "AuthCallbackPage"),
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
  component: lazyRouteComponent(() => import("./features/checkout/CheckoutPage"), "CheckoutPage"),
});

// The shopper's own data is not preloaded on hover: a 401 there would sign out and go to
// /signin before the shopper chose to open the page.

const ordersRoute = createRoute({
  getParentRoute: () => shopperRoute,
  path: "/orders",
  loader: ({ context: { queryClient }, cause }) =>
    cause === "preload" ? undefined : settle(cause, queryClient.ensureInfiniteQueryData(ordersQuery())),
  component: lazyRouteComponent(() => import("./features/orders/OrdersPage"), "OrdersPage"),
});

const orderRoute = createRoute({
  getParentRoute: () => shopperRoute,
  path: "/orders/$orderId",
  loader: ({ context: { queryClient }, params, cause }) =>
    cause === "preload" ? undefined : settle(cause, queryClient.ensureQueryData(orderQuery(params.orderId))),
  component: lazyRouteComponent(() => import("./features/orders/OrderPage"), "OrderPage"),
});

// The local stack's mailbox; outside it (`auth.mode` is not "dev") there is no /dev/mail to read.
const mailboxRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/dev/mailbox",
  component: lazyRouteComponent(() => import("./features/mailbox/MailboxPage"), "MailboxPage"),
});

export const routeTree = rootRoute.addChildren([
  homeRoute,
  searchRoute,
  categoryRoute,
  productRoute,
  signInRoute,
  authCallbackRoute,
  mailboxRoute,
  shopperRoute.addChildren([checkoutRoute, ordersRoute, orderRoute]),
]);
