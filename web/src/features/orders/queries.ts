import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import * as api from "../../api/endpoints";

/** The orders' query keys, written here only. */
export const orderKeys = {
  /** The order history (all its pages). */
  list: ["orders"] as const,
  /** Prefix of every order's detail. */
  details: ["order"] as const,
  detail: (orderId: string) => [...orderKeys.details, orderId] as const,
};

// Both are loaded by their route's loader, so a failure there is not retried again on mount.

/** The signed-in shopper's orders, newest first, paged by the API's `nextPage` token. */
export function ordersQuery() {
  return infiniteQueryOptions({
    queryKey: orderKeys.list,
    queryFn: ({ pageParam, signal }) => api.listOrders(pageParam, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => (last.hasMore && last.nextPage ? last.nextPage : undefined),
    retryOnMount: false,
  });
}

export function orderQuery(orderId: string) {
  return queryOptions({
    queryKey: orderKeys.detail(orderId),
    queryFn: ({ signal }) => api.getOrder(orderId, signal),
    retryOnMount: false,
  });
}
