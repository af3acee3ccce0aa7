import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { Spinner } from "../../components/Status";
import { useLiveWatch } from "../live/client";
import type { LoadedHit } from "./queries";
import { ResultRow } from "./ResultRow";

/**
 * The hits as a window-virtualized list (only the rows near the viewport are in the DOM),
 * loading the next page near its end; the visible rows' products are watched for live stock.
 */
export function ResultsList({
  hits,
  total,
  hasNextPage,
  isFetchingNextPage,
  fetchNextPage,
}: {
  hits: LoadedHit[];
  total: number;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => void;
}) {
  const listRef = useRef<HTMLDivElement>(null);
  const [scrollMargin, setScrollMargin] = useState(0);
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const top = Math.round(el.getBoundingClientRect().top + window.scrollY);
    if (top !== scrollMargin) setScrollMargin(top);
  });

  const count = hits.length + (hasNextPage ? 1 : 0);
  const virtualizer = useWindowVirtualizer({
    count,
    estimateSize: () => 104,
    overscan: 6,
    scrollMargin,
    getItemKey: (i) => hits[i]?.productId ?? `loader-${i}`,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items[items.length - 1]?.index ?? -1;

  // Infinite scroll: near the end of what is loaded, load the next page.
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= hits.length - 5) fetchNextPage();
  }, [lastIndex, hits.length, hasNextPage, isFetchingNextPage, fetchNextPage]);

  useLiveWatch(items.map((i) => hits[i.index]?.productId).filter((x): x is string => !!x));

  return (
    <div
      ref={listRef}
      role="list"
      aria-label="Search results"
      data-testid="search-results"
      className="results"
      style={{ height: virtualizer.getTotalSize(), position: "relative" }}
    >
      {items.map((item) => {
        const hit = hits[item.index];
        return (
          <div
            key={item.key}
            role="listitem"
            aria-setsize={total}
            aria-posinset={item.index + 1}
            data-index={item.index}
            ref={virtualizer.measureElement}
            className="result-slot"
            style={{ transform: `translateY(${item.start - scrollMargin}px)` }}
          >
            {hit ? (
              <ResultRow hit={hit} />
            ) : (
              <Spinner label="Loading more results…" />
            )}
          </div>
        );
      })}
    </div>
  );
}
