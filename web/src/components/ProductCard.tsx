import { Link } from "@tanstack/react-router";
import type { ProductSummary } from "../api/types";
import { formatMoney } from "../lib/format";
import { ProductImage } from "./ProductImage";

export function Rating({ rating, reviewCount }: { rating: number; reviewCount?: number }) {
  const rounded = Math.round(rating * 10) / 10;
  return (
    <span className="rating" role="img" aria-label={`Rated ${rounded} out of 5${reviewCount !== undefined ? `, ${reviewCount} reviews` : ""}`}>
      <span aria-hidden="true">★ {rounded.toFixed(1)}</span>
      {reviewCount !== undefined && <span aria-hidden="true" className="muted"> ({reviewCount})</span>}
    </span>
  );
}

export function ProductCard({ product, testId }: { product: ProductSummary; testId?: string }) {
  return (
    <article className="card" data-testid={testId} data-product-id={product.productId}>
      <Link to="/products/$productId" params={{ productId: product.productId }} className="card-link">
        <ProductImage productId={product.productId} title={product.title} decorative />
        <span className="card-title">{product.title}</span>
      </Link>
      <span className="muted small">{product.brand}</span>
      <span className="card-meta">
        <span className="price">{formatMoney(product.price)}</span>
        <Rating rating={product.rating} reviewCount={product.reviewCount} />
      </span>
    </article>
  );
}
