import type { Bucket } from "../../api/types";

/** A facet value; count null when the API did not return it (a selected value outside the matches). */
export type FacetBucket = { key: string; count: number | null };
export function FacetGroup({
  legend,
  testId,
  buckets,
  isChecked,
  onToggle,
  label = (b) => b.key,
}: {
  legend: string;
  testId: string;
  buckets: FacetBucket[];
  isChecked: (key: string) => boolean;
  onToggle: (key: string, checked: boolean) => void;
  label?: (b: FacetBucket) => string;
}) {
  if (buckets.length === 0) return null;
  return (
    <fieldset className="facet">
      <legend>{legend}</legend>
      {buckets.map((b) => {
        const id = `${testId}-${b.key}`.replace(/[^A-Za-z0-9_-]/g, "_");
        return (
          <div className="facet-option" key={b.key}>
            <input
              id={id}
              type="checkbox"
              data-testid={testId}
              data-value={b.key}
              checked={isChecked(b.key)}
              disabled={b.count === 0 && !isChecked(b.key)}
              onChange={(e) => onToggle(b.key, e.target.checked)}
            />
            <label htmlFor={id}>
              {label(b)}
              {b.count !== null && <span className="muted"> ({b.count})</span>}
            </label>
          </div>
        );
      })}
    </fieldset>
  );
}

/** Buckets from the API plus the selected keys it did not return (so they can be unchecked). */
export function withSelected(buckets: Bucket[], selected: string[]): FacetBucket[] {
  const out: FacetBucket[] = [...buckets];
  for (const key of selected) if (!buckets.some((b) => b.key === key)) out.unshift({ key, count: null });
  return out;
}
