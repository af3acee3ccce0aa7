import { Link, type ErrorComponentProps } from "@tanstack/react-router";
import { errorMessage } from "../api/client";

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="status" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function PageLoading() {
  return <Spinner label="Loading…" />;
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
