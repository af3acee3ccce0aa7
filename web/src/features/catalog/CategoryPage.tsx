import { useInfiniteQuery } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import { useEffect, useRef } from "react";
import type { BrowseSort } from "../../api/types";
import { ProductCard } from "../../components/ProductCard";
import { ErrorNotice, Skeleton } from "../../components/Status";
import { useTitle } from "../../lib/hooks";
import { categoryPath, useCategories } from "./categories";
import { categoryProductsQuery } from "./queries";

const routeApi = getRouteApi("/categories/$categoryId");

const SORTS: { value: BrowseSort; label: string }[] = [
  { value: "rating", label: "Customer rating" },
  { value: "price_asc", label: "Price: low to high" },
  { value: "price_desc", label: "Price: high to low" },
  { value: "newest", label: "Newest" },
];

export function CategoryPage() {
  const { categoryId } = routeApi.useParams();
  const { sort } = routeApi.useSearch();
  const navigate = routeApi.useNavigate();
  const tree = useCategories();
  const path = categoryPath(tree.data, categoryId);
  const node = path[path.length - 1];
  useTitle(node?.name ?? "Category");

  const query = useInfiniteQuery(categoryProductsQuery(categoryId, sort));

  // Load the next page when the sentinel after the grid scrolls into view.
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = query;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNextPage || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
    }, { rootMargin: "400px" });
    io.observe(el);
    return () => io.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  const products = query.data?.pages.flatMap((p) => p.products) ?? [];

  return (
    <section className="page">
      {path.length > 1 && (
        <nav aria-label="Breadcrumb" className="breadcrumb">
          <ol>
            {path.slice(0, -1).map((c) => (
              <li key={c.categoryId}>
                <Link to="/categories/$categoryId" params={{ categoryId: c.categoryId }}>
                  {c.name}
                </Link>
              </li>
            ))}
          </ol>
        </nav>
      )}
      <h1 data-testid="category-title">{node?.name ?? categoryId}</h1>
      {node && node.children.length > 0 && (
        <ul className="chips" aria-label="Subcategories">
          {node.children.map((c) => (
            <li key={c.categoryId}>
              <Link to="/categories/$categoryId" params={{ categoryId: c.categoryId }} className="chip">
                {c.name} <span className="muted">({c.productCount})</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      <div className="search-toolbar">
        <label htmlFor="category-sort">Sort by</label>
        <select
          id="category-sort"
          data-testid="category-sort"
          value={sort ?? "rating"}
          onChange={(e) => void navigate({ search: { sort: e.target.value === "rating" ? undefined : (e.target.value as BrowseSort) } })}
        >
          {SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
        <Link to="/search" search={{ category: categoryId }} className="link-button">
          Filter these in search
        </Link>
      </div>
      {query.isPending ? (
        <Skeleton label="Loading products…" shape="cards" count={8} />
      ) : query.isError && products.length === 0 ? (
        <ErrorNotice error={query.error} />
      ) : products.length === 0 ? (
        <p data-testid="category-empty">No products in this category yet.</p>
      ) : (
        <>
          <ul className="grid" aria-label="Products">
            {products.map((p) => (
              <li key={p.productId}>
                <ProductCard product={p} testId="category-product" />
              </li>
            ))}
          </ul>
          <div ref={sentinel} />
          {query.hasNextPage && (
            <button
              type="button"
              className="button load-more"
              data-testid="category-load-more"
              disabled={query.isFetchingNextPage}
              onClick={() => void query.fetchNextPage()}
            >
              {query.isFetchingNextPage ? "Loading…" : "Load more"}
            </button>
          )}
          {query.isFetchNextPageError && <ErrorNotice error={query.error} />}
        </>
      )}
    </section>
  );
}
