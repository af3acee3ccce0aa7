import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import * as api from "../api/endpoints";
import type { Bucket, SearchHit, SearchResults } from "../api/types";
import { Rating } from "../components/ProductCard";
import { ProductImage } from "../components/ProductImage";
import { ErrorNotice, Spinner } from "../components/Status";
import { categoryName, useCategories } from "../lib/categories";
import { formatMoney } from "../lib/format";
import { useTitle } from "../lib/hooks";
import { PRICE_RANGES, SEARCH_SORTS, type SearchQuery } from "../lib/search-params";
import { useLiveWatch } from "../live/client";
import { availabilityLabel, useAvailability } from "../live/stock";

const routeApi = getRouteApi("/search");

const SORT_LABELS: Record<string, string> = {
  relevance: "Best match",
  price_asc: "Price: low to high",
  price_desc: "Price: high to low",
  rating: "Customer rating",
  newest: "Newest",
};

const DEBOUNCE_MS = 300;

/** A facet value; count null when the API did not return it (a selected value outside the matches). */
type FacetBucket = { key: string; count: number | null };

/** The search box: typing settles into the URL after 300 ms; Back/links put the URL's words back in the box. */
function SearchBox({ q, onCommit }: { q: string; onCommit: (q: string) => void }) {
  const [value, setValue] = useState(q);
  const committed = useRef(q);

  useEffect(() => {
    if (q !== committed.current) {
      committed.current = q;
      setValue(q);
    }
  }, [q]);

  useEffect(() => {
    if (value === committed.current) return;
    const id = setTimeout(() => {
      committed.current = value;
      onCommit(value);
    }, DEBOUNCE_MS);
    return () => clearTimeout(id);
  }, [value, onCommit]);

  return (
    <form
      role="search"
      className="search-box"
      onSubmit={(e) => {
        e.preventDefault();
        if (value !== committed.current) {
          committed.current = value;
          onCommit(value);
        }
      }}
    >
      <label htmlFor="search-q" className="visually-hidden">
        Search products
      </label>
      <input
        id="search-q"
        type="search"
        data-testid="search-input"
        placeholder="Search products"
        autoComplete="off"
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit" className="button">
        Search
      </button>
    </form>
  );
}

function FacetGroup({
  legend,
  testId,
  buckets,
  isChecked,
  onToggle,
  label = (b) => b.key,
}: {
  legend: string;
  testId: string;
  buckets: FacetBucket[];
  isChecked: (key: string) => boolean;
  onToggle: (key: string, checked: boolean) => void;
  label?: (b: FacetBucket) => string;
}) {
  if (buckets.length === 0) return null;
  return (
    <fieldset className="facet">
      <legend>{legend}</legend>
      {buckets.map((b) => {
        const id = `${testId}-${b.key}`.replace(/[^A-Za-z0-9_-]/g, "_");
        return (
          <div className="facet-option" key={b.key}>
            <input
              id={id}
              type="checkbox"
              data-testid={testId}
              data-value={b.key}
              checked={isChecked(b.key)}
              disabled={b.count === 0 && !isChecked(b.key)}
              onChange={(e) => onToggle(b.key, e.target.checked)}
            />
            <label htmlFor={id}>
              {label(b)}
              {b.count !== null && <span className="muted"> ({b.count})</span>}
            </label>
          </div>
        );
      })}
    </fieldset>
  );
}

/** Buckets from the API plus the selected keys it did not return (so they can be unchecked). */
function withSelected(buckets: Bucket[], selected: string[]): FacetBucket[] {
  const out: FacetBucket[] = [...buckets];
  for (const key of selected) if (!buckets.some((b) => b.key === key)) out.unshift({ key, count: null });
  return out;
}

function Facets({
  search,
  facets,
  update,
}: {
  search: SearchQuery;
  facets: SearchResults["facets"] | undefined;
  update: (patch: Partial<SearchQuery>) => void;
}) {
  const categories = useCategories();
  const brands = search.brand ?? [];
  const selectedRange = PRICE_RANGES.find((r) => r.min === search.priceMin && r.max === search.priceMax)?.key;
  const rangeBuckets: FacetBucket[] =
    facets?.priceRanges && facets.priceRanges.length
      ? facets.priceRanges
      : PRICE_RANGES.map((r) => ({ key: r.key, count: null }));

  return (
    <div className="facets">
      <div className="facet">
        <input
          id="facet-instock"
          type="checkbox"
          data-testid="facet-instock"
          checked={!!search.inStock}
          onChange={(e) => update({ inStock: e.target.checked || undefined })}
        />
        <label htmlFor="facet-instock">In stock only</label>
      </div>
      <FacetGroup
        legend="Category"
        testId="facet-category"
        buckets={withSelected(facets?.categories ?? [], search.category ? [search.category] : [])}
        isChecked={(k) => search.category === k}
        onToggle={(k, on) => update({ category: on ? k : undefined })}
        label={(b) => categoryName(categories.data, b.key)}
      />
      <FacetGroup
        legend="Brand"
        testId="facet-brand"
        buckets={withSelected(facets?.brands ?? [], brands)}
        isChecked={(k) => brands.includes(k)}
        onToggle={(k, on) => {
          const next = on ? [...brands, k] : brands.filter((b) => b !== k);
          update({ brand: next.length ? next : undefined });
        }}
      />
      <FacetGroup
        legend="Price"
        testId="facet-price"
        buckets={rangeBuckets}
        isChecked={(k) => selectedRange === k}
        onToggle={(k, on) => {
          const r = PRICE_RANGES.find((x) => x.key === k);
          update(on && r ? { priceMin: r.min, priceMax: r.max } : { priceMin: undefined, priceMax: undefined });
        }}
      />
      {search.priceMin !== undefined || search.priceMax !== undefined
        ? !selectedRange && (
            <p className="small">
              Price {search.priceMin !== undefined ? `from ${formatMoney({ amount: search.priceMin, currency: "USD" })}` : ""}
              {search.priceMax !== undefined ? ` up to ${formatMoney({ amount: search.priceMax, currency: "USD" })}` : ""}{" "}
              <button type="button" className="link-button" onClick={() => update({ priceMin: undefined, priceMax: undefined })}>
                Clear price
              </button>
            </p>
          )
        : null}
      <div className="facet">
        <h3 className="facet-heading">Average rating</h3>
        <p data-testid="facet-avg-rating">
          {facets?.avgRating != null ? (
            <Rating rating={facets.avgRating} />
          ) : (
            <span className="muted">Not available</span>
          )}
        </p>
      </div>
    </div>
  );
}

function ResultRow({ hit, loadedAt }: { hit: SearchHit; loadedAt: number }) {
  const availability = useAvailability(hit.productId, hit, loadedAt);
  const label = availabilityLabel(availability);
  return (
    <article className="result-row" data-testid="search-result" data-product-id={hit.productId}>
      <ProductImage productId={hit.productId} title={hit.title} size={72} decorative />
      <div className="result-main">
        <Link to="/products/$productId" params={{ productId: hit.productId }} className="result-title" data-testid="search-result-title">
          {hit.title}
        </Link>
        <span className="muted small">{hit.brand}</span>
        <Rating rating={hit.rating} reviewCount={hit.reviewCount} />
      </div>
      <div className="result-side">
        <span className="price" data-testid="search-result-price">
          {formatMoney(hit.price)}
        </span>
        <span className={`small ${label === "In stock" ? "ok" : "warn"}`} data-testid="search-result-availability">
          {label}
        </span>
      </div>
    </article>
  );
}

function Results({
  hits,
  total,
  hasNextPage,
  isFetchingNextPage,
  fetchNextPage,
  loadedAt,
}: {
  hits: SearchHit[];
  total: number;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => void;
  loadedAt: number;
}) {
  const listRef = useRef<HTMLDivElement>(null);
  const [scrollMargin, setScrollMargin] = useState(0);
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const top = Math.round(el.getBoundingClientRect().top + window.scrollY);
    if (top !== scrollMargin) setScrollMargin(top);
  });

  const count = hits.length + (hasNextPage ? 1 : 0);
  const virtualizer = useWindowVirtualizer({
    count,
    estimateSize: () => 104,
    overscan: 6,
    scrollMargin,
    getItemKey: (i) => hits[i]?.productId ?? `loader-${i}`,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items[items.length - 1]?.index ?? -1;

  // Infinite scroll: near the end of what is loaded, load the next page.
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= hits.length - 5) fetchNextPage();
  }, [lastIndex, hits.length, hasNextPage, isFetchingNextPage, fetchNextPage]);

  useLiveWatch(items.map((i) => hits[i.index]?.productId).filter((x): x is string => !!x));

  return (
    <div
      ref={listRef}
      role="list"
      aria-label="Search results"
      data-testid="search-results"
      className="results"
      style={{ height: virtualizer.getTotalSize(), position: "relative" }}
    >
      {items.map((item) => {
        const hit = hits[item.index];
        return (
          <div
            key={item.key}
            role="listitem"
            aria-setsize={total}
            aria-posinset={item.index + 1}
            data-index={item.index}
            ref={virtualizer.measureElement}
            className="result-slot"
            style={{ transform: `translateY(${item.start - scrollMargin}px)` }}
          >
            {hit ? (
              <ResultRow hit={hit} loadedAt={loadedAt} />
            ) : (
              <Spinner label="Loading more results…" />
            )}
          </div>
        );
      })}
    </div>
  );
}

export function SearchPage() {
  const search = routeApi.useSearch();
  const navigate = routeApi.useNavigate();
  const [filtersOpen, setFiltersOpen] = useState(false);
  useTitle(search.q ? `“${search.q}”` : "Search");

  const params: api.SearchParams = useMemo(
    () => ({
      q: search.q,
      category: search.category,
      brand: search.brand,
      priceMin: search.priceMin,
      priceMax: search.priceMax,
      inStock: search.inStock,
      sort: search.sort,
    }),
    [search.q, search.category, search.brand, search.priceMin, search.priceMax, search.inStock, search.sort],
  );

  const query = useInfiniteQuery({
    queryKey: ["search", params],
    queryFn: ({ pageParam, signal }) => api.search(params, pageParam, signal),
    initialPageParam: 1,
    getNextPageParam: (last) => (last.hasMore ? last.page + 1 : undefined),
    placeholderData: keepPreviousData,
  });

  const update = useMemo(
    () => (patch: Partial<SearchQuery>) => void navigate({ search: (prev) => ({ ...prev, ...patch }) }),
    [navigate],
  );
  const commitQ = useMemo(() => (q: string) => update({ q: q.trim() === "" ? undefined : q }), [update]);

  const first = query.data?.pages[0];
  const hits = useMemo(() => {
    const seen = new Set<string>();
    const out: SearchHit[] = [];
    for (const page of query.data?.pages ?? []) {
      for (const hit of page.products) {
        if (!seen.has(hit.productId)) {
          seen.add(hit.productId);
          out.push(hit);
        }
      }
    }
    return out;
  }, [query.data]);
  const { fetchNextPage: fetchNext } = query;
  const fetchNextPage = useCallback(() => void fetchNext(), [fetchNext]);
  const filtered = !!(search.category || search.brand || search.priceMin !== undefined || search.priceMax !== undefined || search.inStock);

  return (
    <section className="page search-page">
      <h1 className="visually-hidden">Search</h1>
      <SearchBox q={search.q ?? ""} onCommit={commitQ} />
      <div className="search-toolbar">
        <button
          type="button"
          className="button filters-toggle"
          aria-expanded={filtersOpen}
          aria-controls="search-filters"
          data-testid="filters-toggle"
          onClick={() => setFiltersOpen((o) => !o)}
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
      <div className="search-layout">
        <aside id="search-filters" className={`search-filters${filtersOpen ? " is-open" : ""}`} aria-label="Filters">
          <Facets search={search} facets={first?.facets} update={update} />
        </aside>
        <div className="search-results">
          {first?.degraded && (
            <div className="notice notice-warn" role="status" data-testid="search-degraded">
              Search is running in a reduced mode right now: results come from browsing the category, your search
              words are ignored and some filters only apply to this page.
            </div>
          )}
          {query.isPending ? (
            <div data-testid="search-loading">
              <Spinner label="Searching…" />
            </div>
          ) : query.isError && !query.data ? (
            <ErrorNotice error={query.error} testId="search-error">
              <button type="button" className="button" onClick={() => void query.refetch()}>
                Try again
              </button>
            </ErrorNotice>
          ) : hits.length === 0 ? (
            <div className="empty" data-testid="search-empty">
              <p>
                No products match{search.q ? ` “${search.q}”` : ""}
                {filtered ? " with these filters" : ""}.
              </p>
              {filtered && (
                <Link to="/search" search={{ q: search.q }}>
                  Search without filters
                </Link>
              )}
            </div>
          ) : (
            <>
              <p className="muted small" role="status" data-testid="search-count">
                {first?.totalCount ?? hits.length} {(first?.totalCount ?? hits.length) === 1 ? "result" : "results"}
                {query.isPlaceholderData ? " · updating…" : ""}
              </p>
              <Results
                hits={hits}
                total={first?.totalCount ?? hits.length}
                hasNextPage={!!query.hasNextPage}
                isFetchingNextPage={query.isFetchingNextPage}
                fetchNextPage={fetchNextPage}
                loadedAt={query.dataUpdatedAt}
              />
              {query.isFetchNextPageError && (
                <ErrorNotice error={query.error}>
                  <button type="button" className="button" onClick={() => void query.fetchNextPage()}>
                    Load more
                  </button>
                </ErrorNotice>
              )}
              {!query.hasNextPage && hits.length > 0 && <p className="muted small end-of-list">End of results.</p>}
            </>
          )}
        </div>
      </div>
    </section>
  );
}
