import { Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { ErrorNotice, Skeleton } from "../../components/Status";
import { useTitle } from "../../lib/hooks";
import { useCategories } from "./categories";

export function HomePage() {
  useTitle("Welcome");
  const navigate = useNavigate();
  const [q, setQ] = useState("");
  const categories = useCategories();

  return (
    <section className="page">
      <h1>Find something good</h1>
      <form
        role="search"
        className="hero-search"
        onSubmit={(e) => {
          e.preventDefault();
          void navigate({ to: "/search", search: { q: q.trim() || undefined } });
        }}
      >
        <label htmlFor="home-q" className="visually-hidden">
          Search products
        </label>
        <input id="home-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Search products" />
        <button type="submit" className="button button-primary">
          Search
        </button>
      </form>

      <h2>Departments</h2>
      {categories.isPending ? (
        <Skeleton label="Loading departments…" shape="lines" count={6} />
      ) : categories.isError ? (
        <ErrorNotice error={categories.error} />
      ) : (
        <ul className="departments">
          {categories.data.map((dept) => (
            <li key={dept.categoryId}>
              <Link to="/categories/$categoryId" params={{ categoryId: dept.categoryId }} className="department-title">
                {dept.name}
              </Link>{" "}
              <span className="muted small">({dept.productCount})</span>
              {dept.children.length > 0 && (
                <ul className="subcategories">
                  {dept.children.map((c) => (
                    <li key={c.categoryId}>
                      <Link to="/categories/$categoryId" params={{ categoryId: c.categoryId }}>
                        {c.name}
                      </Link>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
