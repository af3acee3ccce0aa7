import { getRouteApi } from "@tanstack/react-router";
import { useMemo, useState } from "react";
import { useTitle } from "../../lib/hooks";
import { Facets } from "./Facets";
import type { SearchQuery } from "./params";
import { SearchBox } from "./SearchBox";
import { SearchResultsPane } from "./SearchResultsPane";
import { SearchToolbar } from "./SearchToolbar";
import { useSearchResults } from "./useSearchResults";

const routeApi = getRouteApi("/search");

/** `/search`: the URL's query is the state; every change of words, filters or sort is a navigation. */
export function SearchPage() {
  const search = routeApi.useSearch();
  const navigate = routeApi.useNavigate();
  const [filtersOpen, setFiltersOpen] = useState(false);
  useTitle(search.q ? `“${search.q}”` : "Search");
  const results = useSearchResults(search);

  const update = useMemo(
    () => (patch: Partial<SearchQuery>) => void navigate({ search: (prev) => ({ ...prev, ...patch }) }),
    [navigate],
  );
  const commitQ = useMemo(() => (q: string) => update({ q: q.trim() === "" ? undefined : q }), [update]);
  const filtered = !!(search.category || search.brand || search.priceMin !== undefined || search.priceMax !== undefined || search.inStock || search.ratingMin);

  return (
    <section className="page search-page">
      <h1 className="visually-hidden">Search</h1>
      <SearchBox q={search.q ?? ""} onCommit={commitQ} />
      <SearchToolbar
        search={search}
        filtered={filtered}
        filtersOpen={filtersOpen}
        onToggleFilters={() => setFiltersOpen((o) => !o)}
        update={update}
      />
      <div className="search-layout">
        <aside id="search-filters" className={`search-filters${filtersOpen ? " is-open" : ""}`} aria-label="Filters">
          <Facets search={search} facets={results.first?.facets} update={update} />
        </aside>
        <SearchResultsPane q={search.q} filtered={filtered} results={results} />
      </div>
    </section>
  );
}
