import { Link } from "@tanstack/react-router";
import type { PlacedOrder } from "../../api/types";
import { formatDate, formatMoney } from "../../lib/format";

/** The placed order, with the API's figures. */
export function Confirmation({ order }: { order: PlacedOrder }) {
  return (
    <div className="confirmation" data-testid="checkout-confirmation">
      <p className="notice notice-ok" role="status">
        Thank you! Your order is confirmed.
      </p>
      <dl className="totals">
        <dt>Order number</dt>
        <dd data-testid="confirmation-order-id">{order.orderId}</dd>
        <dt>Total charged</dt>
        <dd data-testid="confirmation-total">{formatMoney(order.total)}</dd>
        <dt>Estimated delivery</dt>
        <dd data-testid="confirmation-delivery">{formatDate(order.estimatedDelivery)}</dd>
      </dl>
      <div className="actions">
        <Link to="/orders/$orderId" params={{ orderId: order.orderId }} className="button button-primary" data-testid="confirmation-view-order">
          Track this order
        </Link>
        <Link to="/search" className="button">
          Continue shopping
        </Link>
      </div>
    </div>
  );
}
