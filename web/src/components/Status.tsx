import { Link, type ErrorComponentProps } from "@tanstack/react-router";
import { errorMessage } from "../api/client";

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="status" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/**
 * Grey placeholders in the shape of the content that is loading (product cards, list
 * rows, a product page, lines of text), shimmering unless the reader prefers reduced
 * motion. Announced once, politely, by its label.
 */
export function Skeleton({ label, shape, count = 6 }: { label: string; shape: "cards" | "rows" | "product" | "lines"; count?: number }) {
  const blocks =
    shape === "product" ? (
      <div className="skeleton-product">
        <div className="skeleton-block skeleton-image" />
        <div>
          <div className="skeleton-block skeleton-line skeleton-wide" />
          <div className="skeleton-block skeleton-line" />
          <div className="skeleton-block skeleton-line skeleton-short" />
          <div className="skeleton-block skeleton-button" />
        </div>
      </div>
    ) : (
      <div className={`skeleton-${shape}`}>
        {Array.from({ length: count }, (_, i) =>
          shape === "cards" ? (
            <div key={i} className="skeleton-card">
              <div className="skeleton-block skeleton-image" />
              <div className="skeleton-block skeleton-line" />
              <div className="skeleton-block skeleton-line skeleton-short" />
            </div>
          ) : (
            <div key={i} className={`skeleton-block skeleton-line${shape === "rows" ? " skeleton-row" : ""}`} />
          ),
        )}
      </div>
    );
  return (
    <div className="skeleton" role="status" aria-live="polite" aria-busy="true" data-testid="skeleton">
      <span className="visually-hidden">{label}</span>
      <div aria-hidden="true">{blocks}</div>
    </div>
  );
}

export function PageLoading() {
  return <Skeleton label="Loading…" shape="lines" count={4} />;
}

/** An API error as a person reads it: the problem's `detail`. */
export function ErrorNotice({ error, testId, children }: { error: unknown; testId?: string; children?: React.ReactNode }) {
  return (
    <div className="notice notice-error" role="alert" data-testid={testId}>
      <p>{errorMessage(error)}</p>
      {children}
    </div>
  );
}

export function PageError({ error, reset }: ErrorComponentProps) {
  return (
    <section className="page">
      <h1>Something went wrong</h1>
      <ErrorNotice error={error}>
        <button type="button" onClick={reset}>
          Try again
        </button>
      </ErrorNotice>
    </section>
  );
}

export function NotFound() {
  return (
    <section className="page">
      <h1>Page not found</h1>
      <p>
        That page does not exist. <Link to="/">Go to the shop front</Link>.
      </p>
    </section>
  );
}
