import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useId, useState } from "react";
import * as api from "../../api/endpoints";
import type { SearchHit } from "../../api/types";
import { formatMoney } from "../../lib/format";
import { useDebounced } from "../../lib/hooks";

/** Typing settles for this long before suggestions are asked for. */
const SUGGEST_DEBOUNCE_MS = 120;

/** Suggestions for the words typed so far (`GET /search/suggest`); cached a minute per text. */
function useSuggestions(typed: string) {
  const q = useDebounced(typed.trim(), SUGGEST_DEBOUNCE_MS);
  return useQuery({
    queryKey: ["suggest", q],
    queryFn: ({ signal }) => api.suggest(q, signal),
    enabled: q.length > 0,
    staleTime: 60_000,
    placeholderData: keepPreviousData,
    retry: false,
  });
}

/** The next highlighted option: -1 (the typed words) and 0..n-1, round and round. */
export function cycle(current: number, step: 1 | -1, n: number): number {
  const next = current + step;
  if (next >= n) return -1;
  if (next < -1) return n - 1;
  return next;
}

/**
 * The header's search box: suggestions as you type, typos forgiven (an ARIA combobox: arrows
 * move through them, Enter opens the chosen product or searches the words, Escape closes).
 */
export function HeaderSearch() {
  const navigate = useNavigate();
  const listId = useId();
  const [value, setValue] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const suggestions = useSuggestions(value);
  const shown: SearchHit[] = open && value.trim() ? (suggestions.data?.suggestions ?? []) : [];
  const optionId = (i: number) => `${listId}-option-${i}`;

  const close = () => {
    setOpen(false);
    setActive(-1);
  };
  const openProduct = (hit: SearchHit) => {
    close();
    setValue("");
    void navigate({ to: "/products/$productId", params: { productId: hit.productId } });
  };
  const searchWords = () => {
    close();
    const q = value.trim();
    void navigate({ to: "/search", search: q ? { q } : {} });
  };

  return (
    <form
      role="search"
      className="header-search"
      onSubmit={(e) => {
        e.preventDefault();
        const chosen = shown[active];
        if (chosen) openProduct(chosen);
        else searchWords();
      }}
    >
      <label htmlFor={`${listId}-input`} className="visually-hidden">
        Search the shop
      </label>
      <input
        id={`${listId}-input`}
        type="search"
        role="combobox"
        data-testid="header-search-input"
        placeholder="Search the shop"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={shown.length > 0}
        aria-controls={listId}
        aria-activedescendant={active >= 0 && active < shown.length ? optionId(active) : undefined}
        value={value}
        onChange={(e) => {
          setValue(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onBlur={close}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            if (!shown.length) return;
            e.preventDefault();
            setOpen(true);
            const step = e.key === "ArrowDown" ? 1 : -1;
            setActive((i) => cycle(i, step, shown.length));
          } else if (e.key === "Escape" && shown.length) {
            // Closes the list; a second Escape clears the box (the browser's own for type=search).
            e.preventDefault();
            close();
          }
        }}
      />
      <button type="submit" className="button">
        Search
      </button>
      <ul id={listId} role="listbox" aria-label="Suggestions" className="suggestions" data-testid="header-suggestions" hidden={!shown.length}>
        {shown.map((hit, i) => (
          <li
            key={hit.productId}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className={i === active ? "active" : undefined}
            data-testid="header-suggestion"
            data-product-id={hit.productId}
            // Before the input's blur closes the list.
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => openProduct(hit)}
          >
            <span className="suggestion-title">{hit.title}</span>
            <span className="muted small">
              {hit.brand} · {formatMoney(hit.price)}
            </span>
          </li>
        ))}
      </ul>
    </form>
  );
}
