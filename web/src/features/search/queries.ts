import { infiniteQueryOptions } from "@tanstack/react-query";
import * as api from "../../api/endpoints";

/**
 * Search results, one API page (`SEARCH_PAGE_SIZE` hits) per query page. Loaded by the
 * route's loader, so a failure there is not retried again when the page mounts.
 */
export function searchQuery(params: api.SearchParams) {
  return infiniteQueryOptions({
    queryKey: ["search", params],
    queryFn: ({ pageParam, signal }) => api.search(params, pageParam, signal),
    initialPageParam: 1,
    getNextPageParam: (last) => (last.hasMore ? last.page + 1 : undefined),
    retryOnMount: false,
  });
}
