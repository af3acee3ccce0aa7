import type { Cart, Money } from "../../api/types";
import { formatMoney } from "../../lib/format";

/** The cart's lines and the estimated totals (the API computes the real ones when the order is placed). */
export function ReviewTotals({ cart }: { cart: Cart }) {
  const live = cart.items.filter((i) => i.reserved !== false);
  const subtotal = cart.subtotal;
  // The API's rule (crates/domain/src/pricing.rs): 8% tax, half-up; shipping free over $50.00, else $5.99.
  const tax: Money = { amount: Math.floor((subtotal.amount * 8 + 50) / 100), currency: subtotal.currency };
  const shipping: Money = { amount: subtotal.amount > 5000 ? 0 : 599, currency: subtotal.currency };
  const total: Money = { amount: subtotal.amount + tax.amount + shipping.amount, currency: subtotal.currency };
  return (
    <>
      <ul className="review-lines" aria-label="Items">
        {cart.items.map((i) => (
          <li key={i.productId} data-testid="review-line" className={i.reserved === false ? "is-expired" : ""}>
            <span>
              {i.quantity} × {i.title}
              {i.reserved === false && <span className="warn small"> (reservation expired: not included)</span>}
            </span>
            <span>{formatMoney(i.lineTotal ?? { amount: i.unitPrice.amount * i.quantity, currency: i.unitPrice.currency })}</span>
          </li>
        ))}
      </ul>
      <dl className="totals">
        <dt>Subtotal ({live.reduce((n, i) => n + i.quantity, 0)} items)</dt>
        <dd data-testid="review-subtotal">{formatMoney(subtotal)}</dd>
        <dt>Estimated tax</dt>
        <dd data-testid="review-tax">{formatMoney(tax)}</dd>
        <dt>Shipping</dt>
        <dd data-testid="review-shipping">{shipping.amount === 0 ? "Free" : formatMoney(shipping)}</dd>
        <dt>Estimated total</dt>
        <dd data-testid="review-total">
          <strong>{formatMoney(total)}</strong>
        </dd>
      </dl>
    </>
  );
}
