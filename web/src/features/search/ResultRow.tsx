import { Link } from "@tanstack/react-router";
import { Rating } from "../../components/ProductCard";
import { ProductImage } from "../../components/ProductImage";
import { formatMoney } from "../../lib/format";
import { availabilityLabel, useAvailability } from "../live/stock";
import type { LoadedHit } from "./queries";

/**
 * One hit: image, title link, brand, rating, price and (live) availability: a push shows
 * when it came after the hit's page did.
 */
export function ResultRow({ hit }: { hit: LoadedHit }) {
  const availability = useAvailability(hit.productId, hit, hit.loadedAt);
  const label = availabilityLabel(availability);
  return (
    <article className="result-row" data-testid="search-result" data-product-id={hit.productId}>
      <ProductImage productId={hit.productId} title={hit.title} size={72} decorative />
      <div className="result-main">
        <Link to="/products/$productId" params={{ productId: hit.productId }} className="result-title" data-testid="search-result-title">
          {hit.title}
        </Link>
        <span className="muted small">{hit.brand}</span>
        <Rating rating={hit.rating} reviewCount={hit.reviewCount} />
      </div>
      <div className="result-side">
        <span className="price" data-testid="search-result-price">
          {formatMoney(hit.price)}
        </span>
        <span className={`small ${label === "In stock" ? "ok" : "warn"}`} data-testid="search-result-availability">
          {label}
        </span>
      </div>
    </article>
  );
}
