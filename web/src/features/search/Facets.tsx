import type { SearchResults } from "../../api/types";
import { Rating } from "../../components/ProductCard";
import { formatMoney } from "../../lib/format";
import { categoryName, useCategories } from "../catalog/categories";
import { FacetGroup, withSelected, type FacetBucket } from "./FacetGroup";
import { PRICE_RANGES, RATING_MINIMA, type SearchQuery } from "./params";

/** The filters sidebar: in stock, category, brand, price, a minimum rating and the average rating of the matches. */
export function Facets({
  search,
  facets,
  update,
}: {
  search: SearchQuery;
  facets: SearchResults["facets"] | undefined;
  update: (patch: Partial<SearchQuery>) => void;
}) {
  const categories = useCategories();
  const brands = search.brand ?? [];
  const selectedRange = PRICE_RANGES.find((r) => r.min === search.priceMin && r.max === search.priceMax)?.key;
  const rangeBuckets: FacetBucket[] =
    facets?.priceRanges && facets.priceRanges.length
      ? facets.priceRanges
      : PRICE_RANGES.map((r) => ({ key: r.key, count: null }));

  return (
    <div className="facets">
      <div className="facet">
        <input
          id="facet-instock"
          type="checkbox"
          data-testid="facet-instock"
          checked={!!search.inStock}
          onChange={(e) => update({ inStock: e.target.checked || undefined })}
        />
        <label htmlFor="facet-instock">In stock only</label>
      </div>
      <FacetGroup
        legend="Category"
        testId="facet-category"
        buckets={withSelected(facets?.categories ?? [], search.category ? [search.category] : [])}
        isChecked={(k) => search.category === k}
        onToggle={(k, on) => update({ category: on ? k : undefined })}
        label={(b) => categoryName(categories.data, b.key)}
      />
      <FacetGroup
        legend="Brand"
        testId="facet-brand"
        buckets={withSelected(facets?.brands ?? [], brands)}
        isChecked={(k) => brands.includes(k)}
        onToggle={(k, on) => {
          const next = on ? [...brands, k] : brands.filter((b) => b !== k);
          update({ brand: next.length ? next : undefined });
        }}
      />
      <FacetGroup
        legend="Price"
        testId="facet-price"
        buckets={rangeBuckets}
        isChecked={(k) => selectedRange === k}
        onToggle={(k, on) => {
          const r = PRICE_RANGES.find((x) => x.key === k);
          update(on && r ? { priceMin: r.min, priceMax: r.max } : { priceMin: undefined, priceMax: undefined });
        }}
      />
      {search.priceMin !== undefined || search.priceMax !== undefined
        ? !selectedRange && (
            <p className="small">
              Price {search.priceMin !== undefined ? `from ${formatMoney({ amount: search.priceMin, currency: "USD" })}` : ""}
              {search.priceMax !== undefined ? ` up to ${formatMoney({ amount: search.priceMax, currency: "USD" })}` : ""}{" "}
              <button type="button" className="link-button" onClick={() => update({ priceMin: undefined, priceMax: undefined })}>
                Clear price
              </button>
            </p>
          )
        : null}
      <FacetGroup
        legend="Customer rating"
        testId="facet-rating"
        buckets={RATING_MINIMA.map((stars) => ({ key: String(stars), count: null }))}
        isChecked={(k) => search.ratingMin === Number(k)}
        onToggle={(k, on) => update({ ratingMin: on ? Number(k) : undefined })}
        label={(b) => `${b.key} stars & up`}
      />
      <div className="facet">
        <h3 className="facet-heading">Average rating</h3>
        <p data-testid="facet-avg-rating">
          {facets?.avgRating != null ? (
            <Rating rating={facets.avgRating} />
          ) : (
            <span className="muted">Not available</span>
          )}
        </p>
      </div>
    </div>
  );
}
