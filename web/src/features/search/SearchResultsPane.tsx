import { Link } from "@tanstack/react-router";
import { ErrorNotice, Skeleton } from "../../components/Status";
import { ResultsList } from "./ResultsList";
import type { SearchResultsState } from "./useSearchResults";

/** The results column: degraded notice, then loading, error, nothing found, or the count and the list. */
export function SearchResultsPane({
  q,
  filtered,
  results: { query, first, hits, fetchNextPage },
}: {
  q: string | undefined;
  filtered: boolean;
  results: SearchResultsState;
}) {
  return (
    <div className="search-results">
      {first?.degraded && (
        <div className="notice notice-warn" role="status" data-testid="search-degraded">
          Search is running in a reduced mode right now: results come from browsing the category, your search
          words are ignored and some filters only apply to this page.
        </div>
      )}
      {query.isPending ? (
        <div data-testid="search-loading">
          <Skeleton label="Searching…" shape="rows" count={6} />
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
            No products match{q ? ` “${q}”` : ""}
            {filtered ? " with these filters" : ""}.
          </p>
          {filtered && (
            <Link to="/search" search={{ q }}>
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
          <ResultsList
            hits={hits}
            total={first?.totalCount ?? hits.length}
            hasNextPage={!!query.hasNextPage}
            isFetchingNextPage={query.isFetchingNextPage}
            fetchNextPage={fetchNextPage}
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
  );
}
