import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import * as api from "../../api/endpoints";
import type { BrowseSort, ReviewSort } from "../../api/types";

// The catalog's queries: each key is written here only (route loaders and pages share these).
// The ones a route loader waits for are not retried on mount: the loader has just tried
// them (with the client's retries) and the page shows a failure as it is.

/** The department tree (`GET /categories`); it changes rarely. */
export function categoriesQuery() {
  return queryOptions({
    queryKey: ["categories"],
    queryFn: ({ signal }) => api.getCategories(signal),
    staleTime: 5 * 60_000,
  });
}

/** One category's products, paged by the API's `nextPage` token. */
export function categoryProductsQuery(categoryId: string, sort: BrowseSort | undefined) {
  return infiniteQueryOptions({
    queryKey: ["category", categoryId, sort ?? "rating"],
    queryFn: ({ pageParam, signal }) => api.browseCategory(categoryId, sort, pageParam, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => (last.hasMore && last.nextPage ? last.nextPage : undefined),
    retryOnMount: false,
  });
}

export function productQuery(productId: string) {
  return queryOptions({
    queryKey: ["product", productId],
    queryFn: ({ signal }) => api.getProduct(productId, signal),
    retryOnMount: false,
  });
}

/** "Customers also bought" for a product. */
export function recommendationsQuery(productId: string) {
  return queryOptions({
    queryKey: ["recommendations", productId],
    queryFn: ({ signal }) => api.getRecommendations(productId, signal),
  });
}

/** A product's rating summary and reviews, page by page (`nextCursor`). */
export function reviewsQuery(productId: string, sort: ReviewSort) {
  return infiniteQueryOptions({
    queryKey: ["reviews", productId, sort],
    queryFn: ({ pageParam, signal }) => api.getReviews(productId, sort, pageParam, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor,
  });
}
