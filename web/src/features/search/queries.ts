import { infiniteQueryOptions } from "@tanstack/react-query";
import * as api from "../../api/endpoints";
import type { SearchHit, SearchResults } from "../../api/types";

/** A page of search results with the time it arrived (`Date.now()`). */
export type LoadedSearchPage = SearchResults & { loadedAt: number };

/** A hit with the time its page arrived. */
export type LoadedHit = SearchHit & { loadedAt: number };

/**
 * Search results, one API page (`SEARCH_PAGE_SIZE` hits) per query page, each stamped with
 * when it arrived: a live stock push is newer than a row only if it came after the row's own
 * page (the query's `dataUpdatedAt` moves on with every page). Loaded by the route's loader,
 * so a failure there is not retried again when the page mounts.
 */
export function searchQuery(params: api.SearchParams) {
  return infiniteQueryOptions({
    queryKey: ["search", params],
    queryFn: async ({ pageParam, signal }): Promise<LoadedSearchPage> => ({
      ...(await api.search(params, pageParam, signal)),
      loadedAt: Date.now(),
    }),
    initialPageParam: 1,
    getNextPageParam: (last) => (last.hasMore ? last.page + 1 : undefined),
    retryOnMount: false,
  });
}
