import { Link, Outlet, useNavigate, useRouterState } from "@tanstack/react-router";
import { useEffect, useRef } from "react";
import { cognitoLogoutUrl } from "../features/auth/cognito";
import { isSessionValid, useAuth } from "../features/auth/store";
import { CartDrawer } from "../features/cart/CartDrawer";
import { cartCount, lineExpired, useCart } from "../features/cart/store";
import { getConfig } from "../config";
import { useNow } from "../lib/hooks";
import { useUi } from "../lib/ui";
import { Toasts } from "./Toasts";
import { useStock } from "../features/live/stock";
import { HeaderSearch } from "../features/search/HeaderSearch";

function CartButton() {
  const lines = useCart((s) => s.lines);
  const open = useUi((s) => s.cartOpen);
  const toggle = useUi((s) => s.toggleCart);
  const now = useNow(5000);
  const count = cartCount(lines);
  const expired = lines.filter((l) => lineExpired(l, now)).length;
  // The name is the visible text ("Cart 2") and the rest for screen readers only.
  const more = ` ${count === 1 ? "item" : "items"}${expired ? `, ${expired} reservation${expired === 1 ? "" : "s"} expired` : ""}`;
  return (
    <button
      type="button"
      className="cart-toggle"
      data-testid="cart-toggle"
      aria-haspopup="dialog"
      aria-expanded={open}
      aria-controls="cart-drawer"
      onClick={toggle}
    >
      <svg aria-hidden="true" focusable="false" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
        <path d="M3 4h2l2.4 11.2a1 1 0 0 0 1 .8h9.2a1 1 0 0 0 1-.8L20 8H6.2" />
        <circle cx="9" cy="20" r="1.4" />
        <circle cx="17" cy="20" r="1.4" />
      </svg>
      <span>Cart</span>{" "}
      <span className="badge" data-testid="cart-count">
        {count}
      </span>
      <span className="visually-hidden">{more}</span>
      {expired > 0 && (
        <span className="badge badge-warn" aria-hidden="true">
          !
        </span>
      )}
    </button>
  );
}

function UserMenu() {
  const session = useAuth((s) => s.session);
  const signOut = useAuth((s) => s.signOut);
  const navigate = useNavigate();
  const location = useRouterState({ select: (s) => s.location });
  if (!isSessionValid(session)) {
    return (
      <Link
        to="/signin"
        search={{ redirect: location.pathname.startsWith("/signin") ? undefined : location.href }}
        data-testid="signin-link"
      >
        Sign in
      </Link>
    );
  }
  return (
    <span className="user-menu">
      <span className="muted" data-testid="signed-in-user">
        {session.user}
        {session.admin ? " (admin)" : ""}
      </span>
      <button
        type="button"
        className="link-button"
        data-testid="signout"
        onClick={() => {
          signOut();
          const auth = getConfig().auth;
          if (auth.mode === "cognito") window.location.assign(cognitoLogoutUrl(auth));
          else void navigate({ to: "/" });
        }}
      >
        Sign out
      </button>
    </span>
  );
}

function LiveStatus() {
  const status = useStock((s) => s.status);
  if (status === "off") return null;
  const text = status === "open" ? "Live updates on" : status === "connecting" ? "Connecting to live updates…" : "Live updates reconnecting…";
  return (
    <span className={`live-status live-${status}`} data-testid="live-status" data-status={status}>
      <span className="dot" aria-hidden="true" /> {text}
    </span>
  );
}

export function RootLayout() {
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  const closeCart = useUi((s) => s.closeCart);
  const cartOpen = useUi((s) => s.cartOpen);
  const mainRef = useRef<HTMLElement>(null);
  const firstPath = useRef(pathname);

  // A new page: close the drawer and move focus to the content (not on first load).
  useEffect(() => {
    closeCart();
    if (pathname !== firstPath.current) {
      firstPath.current = "";
      mainRef.current?.focus({ preventScroll: true });
    }
  }, [pathname, closeCart]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          Shop
        </Link>
        <nav aria-label="Main" className="main-nav">
          <Link to="/search" activeProps={{ "aria-current": "page" }}>
            Search
          </Link>
          <Link to="/orders" activeProps={{ "aria-current": "page" }} data-testid="nav-orders">
            Orders
          </Link>
        </nav>
        {/* The search page has its own box. */}
        {!pathname.startsWith("/search") && <HeaderSearch />}
        <div className="header-end">
          <UserMenu />
          <CartButton />
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="site-footer">
        <LiveStatus />
        {getConfig().auth.mode === "dev" && (
          <Link to="/dev/mailbox" className="small" data-testid="nav-mailbox">
            Dev mailbox
          </Link>
        )}
      </footer>
      <CartDrawer />
      {!cartOpen && <Toasts />}
    </>
  );
}
