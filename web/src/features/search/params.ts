import type { SearchParams } from "../../api/endpoints";
import type { SearchSort } from "../../api/types";
import { optEnum, optInt, optString, stringList } from "../../lib/search-params";

export const SEARCH_SORTS: readonly SearchSort[] = ["relevance", "price_asc", "price_desc", "rating", "newest"];

/** The search page's URL query (`/search?q=&brand=&brand=...`): the API's search parameters. */
export type SearchQuery = SearchParams;

export function validateSearchQuery(raw: Record<string, unknown>): SearchQuery {
  const inStock = Array.isArray(raw.inStock) ? raw.inStock[0] : raw.inStock;
  return {
    q: optString(raw.q),
    category: optString(raw.category),
    brand: stringList(raw.brand),
    priceMin: optInt(raw.priceMin),
    priceMax: optInt(raw.priceMax),
    inStock: inStock === true || inStock === "true" ? true : undefined,
    ratingMin: RATING_MINIMA.find((r) => r === optInt(raw.ratingMin)),
    sort: optEnum(raw.sort, SEARCH_SORTS),
  };
}

/** The rating filter's choices: "4 stars & up" and so on (the API takes 1–5). */
export const RATING_MINIMA: readonly number[] = [4, 3, 2, 1];

/** The API's price buckets (cents; each includes its lower bound). */
export const PRICE_RANGES: { key: string; min?: number; max?: number }[] = [
  { key: "Under $25", max: 2499 },
  { key: "$25-$50", min: 2500, max: 4999 },
  { key: "$50-$100", min: 5000, max: 9999 },
  { key: "Over $100", min: 10000 },
];

/** The API's search parameters for the URL's query (the search query's key; the page and the route loader share it). */
export function searchParamsOf(search: SearchQuery): SearchParams {
  return {
    q: search.q,
    category: search.category,
    brand: search.brand,
    priceMin: search.priceMin,
    priceMax: search.priceMax,
    inStock: search.inStock,
    ratingMin: search.ratingMin,
    sort: search.sort,
  };
}
