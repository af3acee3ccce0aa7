import { useEffect, useRef, useState } from "react";

const DEBOUNCE_MS = 300;
/** The search box: typing settles into the URL after 300 ms; Back/links put the URL's words back in the box. */
export function SearchBox({ q, onCommit }: { q: string; onCommit: (q: string) => void }) {
  const [value, setValue] = useState(q);
  const committed = useRef(q);

  useEffect(() => {
    if (q !== committed.current) {
      committed.current = q;
      setValue(q);
    }
  }, [q]);

  useEffect(() => {
    if (value === committed.current) return;
    const id = setTimeout(() => {
      committed.current = value;
      onCommit(value);
    }, DEBOUNCE_MS);
    return () => clearTimeout(id);
  }, [value, onCommit]);

  return (
    <form
      role="search"
      className="search-box"
      onSubmit={(e) => {
        e.preventDefault();
        if (value !== committed.current) {
          committed.current = value;
          onCommit(value);
        }
      }}
    >
      <label htmlFor="search-q" className="visually-hidden">
        Search products
      </label>
      <input
        id="search-q"
        type="search"
        data-testid="search-input"
        placeholder="Search products"
        autoComplete="off"
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit" className="button">
        Search
      </button>
    </form>
  );
}
