import type { CheckoutError } from "./machine";

/** 402 PAYMENT_FAILED: the decline, and the way back to another card. */
export function PaymentDeclined({ error, onChangePayment }: { error: CheckoutError | null; onChangePayment: () => void }) {
  return (
    <div>
      <div className="notice notice-error" role="alert" data-testid="checkout-error" data-code={error?.code}>
        <p>
          <strong>Payment declined.</strong> {error?.message}
        </p>
      </div>
      <div className="actions">
        <button type="button" className="button button-primary" data-testid="checkout-change-payment" onClick={onChangePayment}>
          Choose another card
        </button>
      </div>
    </div>
  );
}
