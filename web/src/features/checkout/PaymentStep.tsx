import type { ReactNode } from "react";
import { TEST_CARDS } from "./machine";

/** Choosing one of the test cards. */
export function PaymentStep({
  paymentMethodId,
  onSelect,
  onNext,
  back,
}: {
  paymentMethodId: string | null;
  onSelect: (paymentMethodId: string) => void;
  onNext: () => void;
  back: ReactNode;
}) {
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        onNext();
      }}
    >
      <fieldset className="payment-options">
        <legend>Pay with a test card</legend>
        {TEST_CARDS.map((card) => (
          <div className="field field-check" key={card.id}>
            <input
              type="radio"
              id={`pay-${card.id}`}
              name="payment"
              value={card.id}
              data-testid={`payment-${card.id}`}
              checked={paymentMethodId === card.id}
              onChange={() => onSelect(card.id)}
            />
            <label htmlFor={`pay-${card.id}`}>
              {card.label} <span className="muted small">({card.id}: {card.note})</span>
            </label>
          </div>
        ))}
      </fieldset>
      <div className="actions">
        {back}
        <button type="submit" className="button button-primary" data-testid="checkout-payment-next" disabled={!paymentMethodId}>
          Continue to review
        </button>
      </div>
    </form>
  );
}
