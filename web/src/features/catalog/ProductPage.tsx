import { useQuery } from "@tanstack/react-query";
import { getRouteApi, Link, useNavigate, useRouterState } from "@tanstack/react-router";
import { useRef, useState } from "react";
import type { ProductDetail, Recommendations } from "../../api/types";
import { isSignedIn } from "../auth/store";
import { MAX_PER_LINE, useCart } from "../cart/store";
import { ProductCard, Rating } from "../../components/ProductCard";
import { ProductImage } from "../../components/ProductImage";
import { ErrorNotice, Skeleton } from "../../components/Status";
import { formatMoney } from "../../lib/format";
import { useTitle } from "../../lib/hooks";
import { useUi } from "../../lib/ui";
import { useLiveWatch } from "../live/client";
import { availabilityLabel, useAvailability } from "../live/stock";
import { categoryName, useCategories } from "./categories";
import { productQuery, recommendationsQuery } from "./queries";
import { Reviews } from "./Reviews";

const routeApi = getRouteApi("/products/$productId");
const VIEWS = 4;

function Gallery({ product }: { product: ProductDetail }) {
  const [view, setView] = useState(0);
  return (
    <div className="gallery" data-testid="product-gallery">
      <div className="gallery-main">
        <ProductImage productId={product.productId} title={product.title} view={view} />
      </div>
      <div className="gallery-thumbs" role="group" aria-label="Product images">
        {Array.from({ length: VIEWS }, (_, i) => (
          <button
            key={i}
            type="button"
            className="thumb"
            aria-label={`Show image ${i + 1} of ${VIEWS}`}
            aria-pressed={view === i}
            onClick={() => setView(i)}
          >
            <ProductImage productId={product.productId} title={product.title} view={i} decorative bare />
          </button>
        ))}
      </div>
    </div>
  );
}

/** The quantity picker offers at most what is left (and at most a line's limit). */
function AddToCart({ product, available, soldOut }: { product: ProductDetail; available: number; soldOut: boolean }) {
  const most = Math.max(1, Math.min(MAX_PER_LINE, available));
  const [picked, setQuantity] = useState(1);
  const quantity = Math.min(picked, most);
  const add = useCart((s) => s.add);
  const error = useCart((s) => (s.error?.productId === product.productId ? s.error : null));
  const openCart = useUi((s) => s.openCart);
  const navigate = useNavigate();
  const href = useRouterState({ select: (s) => s.location.href });

  return (
    <form
      className="add-to-cart"
      onSubmit={(e) => {
        e.preventDefault();
        if (!isSignedIn()) {
          void navigate({ to: "/signin", search: { redirect: href } });
          return;
        }
        openCart();
        void add({ productId: product.productId, title: product.title, price: product.price }, quantity);
      }}
    >
      <label htmlFor="add-qty">Quantity</label>
      <select id="add-qty" data-testid="add-to-cart-quantity" value={quantity} onChange={(e) => setQuantity(Number(e.target.value))}>
        {Array.from({ length: most }, (_, i) => i + 1).map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      <button type="submit" className="button button-primary" data-testid="add-to-cart" disabled={soldOut}>
        {soldOut ? "Sold out" : "Add to cart"}
      </button>
      {error && (
        <p className="warn small" role="alert" data-testid="add-to-cart-error">
          {error.message}
        </p>
      )}
    </form>
  );
}

const BASIS_LABEL: Record<Recommendations["basis"], string> = {
  alsoBought: "Customers who bought this also bought these.",
  categoryBestSellers: "Best sellers in this category.",
  categoryTopRated: "Top rated in this category.",
};

function AlsoBought({ productId }: { productId: string }) {
  const recs = useQuery(recommendationsQuery(productId));
  const track = useRef<HTMLUListElement>(null);
  const scroll = (dir: 1 | -1) => track.current?.scrollBy({ left: dir * track.current.clientWidth * 0.8, behavior: "smooth" });

  if (recs.isError) return null;
  const products = recs.data?.products.filter((p) => p.productId !== productId) ?? [];
  if (recs.isSuccess && products.length === 0) return null;
  return (
    <section className="carousel" aria-labelledby="also-bought-title" data-testid="recommendations">
      <div className="carousel-head">
        <h2 id="also-bought-title">Customers also bought</h2>
        <div className="carousel-buttons">
          <button type="button" className="icon-button" aria-label="Scroll recommendations left" onClick={() => scroll(-1)}>
            ‹
          </button>
          <button type="button" className="icon-button" aria-label="Scroll recommendations right" onClick={() => scroll(1)}>
            ›
          </button>
        </div>
      </div>
      {recs.isPending ? (
        <Skeleton label="Loading recommendations…" shape="cards" count={5} />
      ) : (
        <>
          {recs.data && <p className="muted small">{BASIS_LABEL[recs.data.basis]}</p>}
          <ul className="carousel-track" ref={track}>
            {products.map((p) => (
              <li key={p.productId}>
                <ProductCard product={p} testId="recommendation" />
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

export function ProductPage() {
  const { productId } = routeApi.useParams();
  const product = useQuery(productQuery(productId));
  const tree = useCategories();
  useLiveWatch([productId]);
  const availability = useAvailability(productId, product.data, product.dataUpdatedAt);
  useTitle(product.data?.title);

  if (product.isPending) return <Skeleton label="Loading product…" shape="product" />;
  if (product.isError)
    return (
      <section className="page">
        <h1>Product unavailable</h1>
        <ErrorNotice error={product.error} />
        <Link to="/search">Back to search</Link>
      </section>
    );

  const p = product.data;
  const label = availabilityLabel(availability);
  const soldOut = label === "Out of stock";
  return (
    <section className="page product-page" data-product-id={p.productId}>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <ol>
          <li>
            <Link to="/categories/$categoryId" params={{ categoryId: p.categoryId }}>
              {categoryName(tree.data, p.categoryId)}
            </Link>
          </li>
        </ol>
      </nav>
      <div className="product-layout">
        <Gallery product={p} />
        <div className="product-info">
          <h1 data-testid="product-title">{p.title}</h1>
          <p className="muted">
            by <Link to="/search" search={{ brand: [p.brand] }}>{p.brand}</Link>
          </p>
          <Rating rating={p.rating} reviewCount={p.reviewCount} />
          <p className="price price-large" data-testid="product-price">
            {formatMoney(p.price)}
          </p>
          <p
            className={soldOut ? "warn" : label === "In stock" ? "ok" : "warn"}
            data-testid="product-availability"
            data-available={availability?.available}
            aria-live="polite"
          >
            {label}
          </p>
          <AddToCart product={p} available={availability?.available ?? p.available} soldOut={soldOut} />
          {p.description && <p className="description">{p.description}</p>}
        </div>
      </div>
      <AlsoBought productId={p.productId} />
      <Reviews productId={p.productId} />
    </section>
  );
}
