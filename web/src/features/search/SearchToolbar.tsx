import { Link } from "@tanstack/react-router";
import { SEARCH_SORTS, type SearchQuery } from "./params";

const SORT_LABELS: Record<string, string> = {
  relevance: "Best match",
  price_asc: "Price: low to high",
  price_desc: "Price: high to low",
  rating: "Customer rating",
  newest: "Newest",
};

/** Above the results: the filters toggle (phone width), the sort order and "Clear filters". */
export function SearchToolbar({
  search,
  filtered,
  filtersOpen,
  onToggleFilters,
  update,
}: {
  search: SearchQuery;
  filtered: boolean;
  filtersOpen: boolean;
  onToggleFilters: () => void;
  update: (patch: Partial<SearchQuery>) => void;
}) {
  return (
    <div className="search-toolbar">
      <button
        type="button"
        className="button filters-toggle"
        aria-expanded={filtersOpen}
        aria-controls="search-filters"
        data-testid="filters-toggle"
        onClick={onToggleFilters}
      >
        Filters
      </button>
      <label htmlFor="search-sort">Sort by</label>
      <select
        id="search-sort"
        data-testid="search-sort"
        value={search.sort ?? "relevance"}
        onChange={(e) => update({ sort: e.target.value === "relevance" ? undefined : (e.target.value as SearchQuery["sort"]) })}
      >
        {SEARCH_SORTS.map((s) => (
          <option key={s} value={s}>
            {SORT_LABELS[s]}
          </option>
        ))}
      </select>
      {filtered && (
        <Link
          to="/search"
          search={{ q: search.q, sort: search.sort }}
          className="link-button"
          data-testid="search-clear-filters"
        >
          Clear filters
        </Link>
      )}
    </div>
  );
}
