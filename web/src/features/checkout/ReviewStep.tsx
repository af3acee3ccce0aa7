import { Link } from "@tanstack/react-router";
import type { ReactNode } from "react";
import type { SnapshotFrom } from "xstate";
import { Spinner } from "../../components/Status";
import type { CheckoutEvent, CheckoutMachine } from "./machine";
import { ReviewSummary } from "./ReviewSummary";
import { ReviewTotals } from "./ReviewTotals";

/**
 * Review and placing: the cart as `GET /cart` has it, the Place order button, and what
 * happens after (waiting for a key still in use, a failure with Retry when it is safe).
 */
export function ReviewStep({
  state,
  send,
  placing,
  back,
}: {
  state: SnapshotFrom<CheckoutMachine>;
  send: (event: CheckoutEvent) => void;
  placing: boolean;
  back: ReactNode;
}) {
  const ctx = state.context;
  return (
    <div>
      {state.matches({ review: "loading" }) && <Spinner label="Loading your cart…" />}
      {state.matches({ review: "failed" }) && (
        <div className="notice notice-error" role="alert" data-testid="checkout-error" data-code={ctx.error?.code}>
          <p>{ctx.error?.message}</p>
          <button type="button" className="button" data-testid="checkout-retry" onClick={() => send({ type: "RETRY" })}>
            Retry
          </button>
        </div>
      )}
      {ctx.cart && !state.matches({ review: "loading" }) && (
        <>
          <ReviewSummary address={ctx.address} paymentMethodId={ctx.paymentMethodId} />
          {ctx.cart.items.length === 0 ? (
            <p className="notice" data-testid="review-empty">
              Your cart is empty. <Link to="/search">Find something to buy</Link>.
            </p>
          ) : (
            <ReviewTotals cart={ctx.cart} />
          )}
        </>
      )}
      {state.matches("failed") && (
        <div className="notice notice-error" role="alert" data-testid="checkout-error" data-code={ctx.error?.code}>
          <p>{ctx.error?.message}</p>
          {ctx.error?.retryable ? (
            <p className="small">Retrying is safe: it cannot place the order twice.</p>
          ) : (
            <p className="small">Go back to the review to check your cart, then place the order again.</p>
          )}
          {ctx.error?.retryable && (
            <button type="button" className="button button-primary" data-testid="checkout-retry" onClick={() => send({ type: "RETRY" })}>
              Retry
            </button>
          )}
        </div>
      )}
      {state.matches("waitingToRetry") && (
        <p role="status" data-testid="checkout-waiting">
          Your order is still being processed; checking again…
        </p>
      )}
      <div className="actions">
        {state.matches("failed") ? (
          <button type="button" className="button" data-testid="checkout-back" onClick={() => send({ type: "BACK" })}>
            Back to review
          </button>
        ) : (
          back
        )}
        {!state.matches("failed") && (
          <button
            type="button"
            className="button button-primary"
            data-testid="place-order"
            aria-busy={placing || undefined}
            disabled={!state.can({ type: "PLACE" })}
            onClick={() => send({ type: "PLACE" })}
          >
            {placing ? "Placing order…" : "Place order"}
          </button>
        )}
      </div>
    </div>
  );
}
