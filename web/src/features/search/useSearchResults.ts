import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import type { SearchParams } from "../../api/endpoints";
import { searchParamsOf, type SearchQuery } from "./params";
import { type LoadedHit, searchQuery } from "./queries";

/**
 * The search for the URL's query: the infinite query (the previous results stay while new
 * ones load), its first page (count, facets, degraded), every loaded hit once (with when its
 * page arrived), and a stable "load the next page".
 */
export function useSearchResults(search: SearchQuery) {
  const params: SearchParams = useMemo(
    () => searchParamsOf(search),
    // the fields, not the object: a new search object with the same values keeps the key
    [search.q, search.category, search.brand, search.priceMin, search.priceMax, search.inStock, search.ratingMin, search.sort],
  );

  const query = useInfiniteQuery({ ...searchQuery(params), placeholderData: keepPreviousData });

  const first = query.data?.pages[0];
  const hits = useMemo(() => {
    const seen = new Set<string>();
    const out: LoadedHit[] = [];
    for (const page of query.data?.pages ?? []) {
      for (const hit of page.products) {
        if (!seen.has(hit.productId)) {
          seen.add(hit.productId);
          out.push({ ...hit, loadedAt: page.loadedAt });
        }
      }
    }
    return out;
  }, [query.data]);
  const { fetchNextPage: fetchNext } = query;
  const fetchNextPage = useCallback(() => void fetchNext(), [fetchNext]);

  return { query, first, hits, fetchNextPage };
}

export type SearchResultsState = ReturnType<typeof useSearchResults>;
