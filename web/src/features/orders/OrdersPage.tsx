import { useInfiniteQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { ErrorNotice, Skeleton } from "../../components/Status";
import { formatDate, formatDateTime, formatMoney, pluralize } from "../../lib/format";
import { useTitle } from "../../lib/hooks";
import { StatusBadge } from "./OrderStatus";
import { ordersQuery } from "./queries";

export function OrdersPage() {
  useTitle("Your orders");
  const query = useInfiniteQuery(ordersQuery());
  const orders = query.data?.pages.flatMap((p) => p.orders) ?? [];

  return (
    <section className="page">
      <h1>Your orders</h1>
      {query.isPending ? (
        <Skeleton label="Loading your orders…" shape="rows" count={5} />
      ) : query.isError && orders.length === 0 ? (
        <ErrorNotice error={query.error} />
      ) : orders.length === 0 ? (
        <p data-testid="orders-empty">
          No orders yet. <Link to="/search">Start shopping</Link>.
        </p>
      ) : (
        <>
          <table className="orders-table">
            <caption className="visually-hidden">Your orders, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col">Status</th>
                <th scope="col">Items</th>
                <th scope="col" className="num">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {orders.map((o) => (
                <tr key={o.orderId} data-testid="order-row" data-order-id={o.orderId}>
                  <td data-label="Order">
                    <Link to="/orders/$orderId" params={{ orderId: o.orderId }} className="mono">
                      {o.orderId}
                    </Link>
                  </td>
                  <td data-label="Placed">{formatDateTime(o.createdAt)}</td>
                  <td data-label="Status">
                    <StatusBadge status={o.status} />
                    {o.status !== "cancelled" && o.status !== "delivered" && (
                      <span className="muted small"> · arrives {formatDate(o.estimatedDelivery)}</span>
                    )}
                  </td>
                  <td data-label="Items">{pluralize(o.itemCount, "item")}</td>
                  <td data-label="Total" className="num">
                    {formatMoney(o.total)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {query.hasNextPage && (
            <button
              type="button"
              className="button load-more"
              data-testid="orders-load-more"
              disabled={query.isFetchingNextPage}
              onClick={() => void query.fetchNextPage()}
            >
              {query.isFetchingNextPage ? "Loading…" : "Older orders"}
            </button>
          )}
          {query.isFetchNextPageError && <ErrorNotice error={query.error} />}
        </>
      )}
    </section>
  );
}
