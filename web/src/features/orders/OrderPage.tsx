import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import * as api from "../../api/endpoints";
import type { OrderDetail, OrderStatus } from "../../api/types";
import { ErrorNotice, Skeleton } from "../../components/Status";
import { formatDate, formatDateTime, formatMoney } from "../../lib/format";
import { useTitle } from "../../lib/hooks";
import { useLiveOrder } from "../live/client";
import { STATUS_LABELS, StatusBadge } from "./OrderStatus";
import { orderKeys, orderQuery } from "./queries";

const routeApi = getRouteApi("/_shopper/orders/$orderId");
const FLOW: OrderStatus[] = ["confirmed", "packed", "shipped", "delivered"];

function Timeline({ order }: { order: OrderDetail }) {
  const reached = new Map(order.history.map((h) => [h.status, h]));
  const cancelled = reached.get("cancelled");
  // The fulfilment steps in order: done ones with their time, the rest still to come (none after a cancel).
  const steps = FLOW.filter((s) => !cancelled || reached.has(s));
  return (
    <ol className="timeline" data-testid="order-timeline" aria-label="Status history">
      {steps.map((s) => {
        const h = reached.get(s);
        return (
          <li key={s} className={h ? "done" : "todo"} data-testid="order-timeline-step" data-status={s}>
            <span className="timeline-status">{STATUS_LABELS[s]}</span>{" "}
            {h ? (
              <time dateTime={h.at} className="muted small">
                {formatDateTime(h.at)}
              </time>
            ) : (
              <span className="muted small">not yet</span>
            )}
            {h?.trackingNumber && <span className="small"> · tracking {h.trackingNumber}</span>}
          </li>
        );
      })}
      {cancelled && (
        <li className="done cancelled" data-testid="order-timeline-step" data-status="cancelled">
          <span className="timeline-status">Cancelled</span>{" "}
          <time dateTime={cancelled.at} className="muted small">
            {formatDateTime(cancelled.at)}
          </time>
        </li>
      )}
    </ol>
  );
}

export function OrderPage() {
  const { orderId } = routeApi.useParams();
  const queryClient = useQueryClient();
  useTitle(`Order ${orderId}`);
  useLiveOrder(orderId);
  const order = useQuery(orderQuery(orderId));
  const cancel = useMutation({
    mutationFn: () => api.cancelOrder(orderId),
    onSuccess: (updated) => {
      queryClient.setQueryData(orderQuery(orderId).queryKey, updated);
      void queryClient.invalidateQueries({ queryKey: orderKeys.list });
    },
  });

  if (order.isPending) return <Skeleton label="Loading the order…" shape="lines" count={6} />;
  if (order.isError)
    return (
      <section className="page">
        <h1>Order {orderId}</h1>
        <ErrorNotice error={order.error} />
        <Link to="/orders">All orders</Link>
      </section>
    );

  const o = order.data;
  const cancellable = o.status === "confirmed" || o.status === "packed";
  return (
    <section className="page" data-testid="order-detail" data-order-id={o.orderId}>
      <p>
        <Link to="/orders">← All orders</Link>
      </p>
      <h1>
        Order <span className="mono" data-testid="order-id">{o.orderId}</span>
      </h1>
      <p>
        <StatusBadge status={o.status} testId="order-status" /> · placed {formatDateTime(o.createdAt)}
        {o.status !== "cancelled" && o.status !== "delivered" && <> · estimated delivery {formatDate(o.estimatedDelivery)}</>}
      </p>
      {o.trackingNumber && (
        <p>
          Tracking number: <span className="mono" data-testid="order-tracking">{o.trackingNumber}</span>
        </p>
      )}
      {o.status === "cancelled" && (
        <p className="notice" role="status">
          This order was cancelled{o.refunded ? " and your payment refunded" : ""}.
        </p>
      )}

      <div className="order-grid">
        <section aria-labelledby="timeline-title">
          <h2 id="timeline-title">Status</h2>
          <Timeline order={o} />
          {cancellable && (
            <div className="actions">
              <button
                type="button"
                className="button button-danger"
                data-testid="order-cancel"
                disabled={cancel.isPending}
                onClick={() => cancel.mutate()}
              >
                {cancel.isPending ? "Cancelling…" : "Cancel order"}
              </button>
            </div>
          )}
          {cancel.isError && <ErrorNotice error={cancel.error} testId="order-cancel-error" />}
        </section>
        <section aria-labelledby="ship-title">
          <h2 id="ship-title">Shipping to</h2>
          <address data-testid="order-address">
            {o.shippingAddress.name}
            <br />
            {o.shippingAddress.line1}
            {o.shippingAddress.line2 && (
              <>
                <br />
                {o.shippingAddress.line2}
              </>
            )}
            <br />
            {o.shippingAddress.postalCode} {o.shippingAddress.city}
            {o.shippingAddress.region ? `, ${o.shippingAddress.region}` : ""}, {o.shippingAddress.country}
          </address>
        </section>
      </div>

      <h2>Items</h2>
      <table className="order-lines">
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col" className="num">
              Qty
            </th>
            <th scope="col" className="num">
              Price
            </th>
            <th scope="col" className="num">
              Total
            </th>
          </tr>
        </thead>
        <tbody>
          {o.lines.map((l) => (
            <tr key={l.productId} data-testid="order-line">
              <td data-label="Product">
                <Link to="/products/$productId" params={{ productId: l.productId }}>
                  {l.title}
                </Link>
              </td>
              <td data-label="Qty" className="num">
                {l.quantity}
              </td>
              <td data-label="Price" className="num">
                {formatMoney(l.unitPrice)}
              </td>
              <td data-label="Total" className="num">
                {formatMoney(l.lineTotal)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl className="totals">
        <dt>Subtotal</dt>
        <dd>{formatMoney(o.subtotal)}</dd>
        <dt>Tax</dt>
        <dd>{formatMoney(o.tax)}</dd>
        <dt>Shipping</dt>
        <dd>{o.shipping.amount === 0 ? "Free" : formatMoney(o.shipping)}</dd>
        <dt>Total</dt>
        <dd data-testid="order-total">
          <strong>{formatMoney(o.total)}</strong>
        </dd>
      </dl>
    </section>
  );
}
