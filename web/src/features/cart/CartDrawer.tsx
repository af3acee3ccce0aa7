import { Link, useRouterState } from "@tanstack/react-router";
import { useEffect, useRef } from "react";
import { isSessionValid, useAuth } from "../auth/store";
import { formatCountdown, formatMoney, multiply } from "../../lib/format";
import { useNow } from "../../lib/hooks";
import { useUi } from "../../lib/ui";
import { Toasts } from "../../components/Toasts";
import { useStock } from "../live/stock";
import { cartSubtotal, lineExpired, MAX_PER_LINE, useCart, type CartItem } from "./store";

/** Under this, the countdown is shown as a warning. */
const EXPIRY_WARNING_MS = 2 * 60_000;

function CartLineRow({ line, now }: { line: CartItem; now: number }) {
  const setQuantity = useCart((s) => s.setQuantity);
  const remove = useCart((s) => s.remove);
  const renew = useCart((s) => s.renew);
  const stock = useStock((s) => s.byId[line.productId]);
  const expired = lineExpired(line, now);
  const left = line.reservedUntil ? Date.parse(line.reservedUntil) - now : null;
  const soldOut = !!stock && (stock.available <= 0 || !stock.inStock);
  const options = Array.from({ length: Math.max(MAX_PER_LINE, line.quantity) }, (_, i) => i + 1);
  const qtyId = `qty-${line.productId}`;

  return (
    <li
      className={`cart-line${expired ? " is-expired" : ""}${line.pending ? " is-pending" : ""}`}
      data-testid="cart-line"
      data-product-id={line.productId}
      aria-busy={line.pending || undefined}
    >
      <div className="cart-line-main">
        <Link to="/products/$productId" params={{ productId: line.productId }} className="cart-line-title" data-testid="cart-line-title">
          {line.title}
        </Link>
        <span className="muted small">{formatMoney(line.unitPrice)} each</span>
      </div>
      <div className="cart-line-controls">
        <label htmlFor={qtyId} className="visually-hidden">
          Quantity of {line.title}
        </label>
        <select
          id={qtyId}
          data-testid="cart-line-quantity"
          value={line.quantity}
          onChange={(e) => void setQuantity(line.productId, Number(e.target.value))}
        >
          {options.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <span className="cart-line-total" data-testid="cart-line-total">
          {formatMoney(multiply(line.unitPrice, line.quantity))}
        </span>
        <button
          type="button"
          className="link-button"
          data-testid="cart-line-remove"
          aria-label={`Remove ${line.title}`}
          onClick={() => void remove(line.productId)}
        >
          Remove
        </button>
      </div>
      <div className="cart-line-status small">
        {line.pending && !line.reservedUntil ? (
          <span role="status">Reserving…</span>
        ) : expired ? (
          <span className="warn" role="alert" data-testid="cart-line-expired">
            Reservation expired: these units are no longer held for you.{" "}
            <button type="button" className="link-button" data-testid="cart-line-renew" onClick={() => void renew(line.productId)}>
              Reserve again
            </button>
          </span>
        ) : left !== null ? (
          <span
            data-testid="cart-line-reservation"
            className={left < EXPIRY_WARNING_MS ? "warn" : "muted"}
            // announce only the warning threshold, not every second
            aria-live="off"
          >
            Reserved for {formatCountdown(left)}
          </span>
        ) : null}
        {line.pending && line.reservedUntil && <span className="muted"> · Saving…</span>}
      </div>
      {soldOut && !expired && (
        <p className="warn small" role="alert" data-testid="cart-line-stock-warning">
          Now sold out. Your {line.quantity} {line.quantity === 1 ? "unit is" : "units are"} still held for you; check out before the reservation ends.
        </p>
      )}
      {soldOut && expired && (
        <p className="warn small" role="alert" data-testid="cart-line-stock-warning">
          Sold out: this line can no longer be bought.
        </p>
      )}
    </li>
  );
}

export function CartDrawer() {
  const open = useUi((s) => s.cartOpen);
  const closeCart = useUi((s) => s.closeCart);
  const lines = useCart((s) => s.lines);
  const error = useCart((s) => s.error);
  const clearError = useCart((s) => s.clearError);
  const reconcile = useCart((s) => s.reconcile);
  const session = useAuth((s) => s.session);
  const signedIn = isSessionValid(session);
  const href = useRouterState({ select: (s) => s.location.href });
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const now = useNow(1000, open);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
      void reconcile();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open, reconcile]);

  const onClose = () => {
    closeCart();
    // Back to what opened the drawer; the cart button if that is gone or disabled now.
    const el = opener.current;
    if (el instanceof HTMLElement && el.isConnected) el.focus();
    if (!(el instanceof HTMLElement) || document.activeElement !== el) {
      document.querySelector<HTMLElement>('[data-testid="cart-toggle"]')?.focus();
    }
  };

  const subtotal = cartSubtotal(lines, now);
  const buyable = lines.some((l) => !lineExpired(l, now) && !l.pending);

  return (
    <dialog
      id="cart-drawer"
      ref={ref}
      className="drawer"
      aria-labelledby="cart-title"
      data-testid="cart-drawer"
      onClose={onClose}
      onClick={(e) => {
        // a click on the backdrop (the dialog box itself, outside the panel) closes it
        if (e.target === ref.current) closeCart();
      }}
    >
      <div className="drawer-panel">
        <div className="drawer-head">
          <h2 id="cart-title">Your cart</h2>
          <button type="button" className="icon-button" aria-label="Close cart" data-testid="cart-close" onClick={closeCart}>
            ✕
          </button>
        </div>
        {error && (
          <div className="notice notice-error" role="alert" data-testid="cart-error">
            <p>{error.message}</p>
            <button type="button" className="link-button" onClick={clearError}>
              Dismiss
            </button>
          </div>
        )}
        {!signedIn ? (
          <p>
            <Link to="/signin" search={{ redirect: href }} onClick={closeCart}>
              Sign in
            </Link>{" "}
            to use your cart.
          </p>
        ) : lines.length === 0 ? (
          <p data-testid="cart-empty">Your cart is empty.</p>
        ) : (
          <>
            <ul className="cart-lines" aria-label="Cart lines">
              {lines.map((line) => (
                <CartLineRow key={line.productId} line={line} now={now} />
              ))}
            </ul>
            <p className="cart-subtotal">
              Subtotal <strong data-testid="cart-subtotal">{formatMoney(subtotal)}</strong>
            </p>
            <p className="muted small">Tax and shipping are added at checkout. Items are held for 30 minutes after each change.</p>
            {buyable ? (
              <Link to="/checkout" className="button button-primary" data-testid="cart-checkout" onClick={closeCart}>
                Check out
              </Link>
            ) : (
              <button type="button" className="button" disabled data-testid="cart-checkout">
                Check out
              </button>
            )}
          </>
        )}
      </div>
      {/* A modal dialog covers the page, toasts included: while it is open they show in it. */}
      {open && <Toasts />}
    </dialog>
  );
}
