/**
 * Generated placeholder product images: an inline SVG with the product's
 * initials, coloured from a hash of its id (no external image hosts).
 */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export function initials(title: string): string {
  const words = title
    .replace(/[^\p{L}\p{N}\s]/gu, " ")
    .split(/\s+/)
    .filter(Boolean);
  return (words.slice(0, 2).map((w) => w[0]) .join("") || "?").toUpperCase();
}

export function ProductImage({
  productId,
  title,
  view = 0,
  size,
  decorative = false,
  bare = false,
}: {
  productId: string;
  title: string;
  /** Which generated "photo" of the product (gallery position). */
  view?: number;
  size?: number;
  decorative?: boolean;
  /** Without the initials (a thumbnail inside a labelled button, whose name they would not match). */
  bare?: boolean;
}) {
  const h = hash(productId);
  const hue = h % 360;
  const hue2 = (hue + 40 + view * 35) % 360;
  const id = `g-${productId}-${view}`;
  const shapes = [
    <circle key="c" cx="150" cy="150" r="92" fill={`hsl(${hue2} 70% 88%)`} opacity="0.9" />,
    <rect key="r" x="62" y="62" width="176" height="176" rx="28" fill={`hsl(${hue2} 65% 86%)`} opacity="0.9" />,
    <polygon key="p" points="150,46 254,232 46,232" fill={`hsl(${hue2} 65% 86%)`} opacity="0.9" />,
    <ellipse key="e" cx="150" cy="160" rx="120" ry="70" fill={`hsl(${hue2} 70% 88%)`} opacity="0.9" />,
  ];
  return (
    <svg
      className="product-image"
      viewBox="0 0 300 300"
      width={size}
      height={size}
      role={decorative ? undefined : "img"}
      aria-hidden={decorative ? true : undefined}
      aria-label={decorative ? undefined : `${title}${view ? `, view ${view + 1}` : ""}`}
      focusable="false"
    >
      <defs>
        <linearGradient id={id} x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor={`hsl(${hue} 60% 42%)`} />
          <stop offset="1" stopColor={`hsl(${(hue + 60) % 360} 55% 30%)`} />
        </linearGradient>
      </defs>
      <rect width="300" height="300" fill={`url(#${id})`} />
      {shapes[view % shapes.length]}
      {!bare && (
      <text
        x="150"
        y="150"
        dy="0.35em"
        textAnchor="middle"
        fontFamily="system-ui, sans-serif"
        fontWeight="700"
        fontSize="84"
        fill={`hsl(${hue} 60% 24%)`}
      >
        {initials(title)}
      </text>
      )}
    </svg>
  );
}
