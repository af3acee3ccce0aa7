// Time to interactive in Chromium against a running local stack: for the search,
// product and checkout pages, the largest contentful paint with a cold browser cache
// (a new context) and a warm one (the same page opened again), and the interaction
// delay of one UI update on each page (Event Timing: from the input to the next paint).
// Writes web/perf.md and exits non-zero when a figure misses its target
// (LCP under 1000 ms, interaction under 50 ms: the seed's targets).
//
//   cargo run --release -p devstack   # in another terminal
//   npm run perf                      # in web/; STOREFRONT_URL etc. as for the e2e suite

import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RUN, api, buy, createProduct, devToken, launch, openShop } from "../e2e/helpers.mjs";

const LCP_TARGET_MS = 1000;
const INTERACTION_TARGET_MS = 50;
const RUNS = 3;
const here = path.dirname(fileURLToPath(import.meta.url));

/** The page's largest contentful paint so far (ms since navigation start). */
function lcp(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        let last = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) last = entry.startTime;
        }).observe({ type: "largest-contentful-paint", buffered: true });
        setTimeout(() => resolve(last), 300);
      }),
  );
}

/** Starts recording Event Timing entries; returns a function that answers the longest. */
async function recordInteractions(page) {
  await page.evaluate(() => {
    window.__events = [];
    new PerformanceObserver((list) => window.__events.push(...list.getEntries().map((e) => e.duration))).observe({
      type: "event",
      durationThreshold: 16,
      buffered: false,
    });
  });
  return async () => {
    await page.waitForTimeout(300);
    // Entries under 16 ms are not reported: 16 is an upper bound for them.
    return page.evaluate(() => (window.__events.length ? Math.max(...window.__events) : 16));
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const browser = await launch();
  const product = await createProduct({ id: `PERF-${RUN}`, title: `Perf Lamp ${RUN}`, amount: 2900, stock: 50, searchFor: `Perf Lamp ${RUN}` });
  const user = `perf-${RUN}`.toLowerCase();
  const { token } = await devToken(user);
  await buy(token, product.id, `perf-${RUN}`);
  await api("POST", "/cart/items", { token, body: { productId: product.id, quantity: 1 } });
  const pages = [
    {
      name: "search",
      path: `/search?q=${encodeURIComponent("lamp")}`,
      ready: '[data-testid="search-result"]',
      interact: (page) => page.getByTestId("facet-instock").first().click(),
      what: "check the in-stock facet",
    },
    {
      name: "product",
      path: `/products/${product.id}`,
      ready: '[data-testid="product-title"]',
      interact: (page) => page.getByTestId("add-to-cart-quantity").selectOption("2"),
      what: "pick a quantity",
    },
    {
      name: "checkout",
      path: "/checkout",
      ready: '[data-testid="checkout-shipping-form"]',
      interact: (page) => page.getByTestId("shipping-name").pressSequentially("Ada", { delay: 30 }),
      what: "type a name",
    },
  ];
  const rows = [];
  let missed = false;
  for (const p of pages) {
    const cold = [];
    const warm = [];
    const interaction = [];
    for (let run = 0; run < RUNS; run += 1) {
      // A new context: an empty HTTP cache, signed in as the shopper.
      const { context, page } = await openShop(browser, user);
      await page.goto(p.path);
      await page.locator(p.ready).first().waitFor();
      cold.push(await lcp(page));
      await page.goto(p.path);
      await page.locator(p.ready).first().waitFor();
      warm.push(await lcp(page));
      const longest = await recordInteractions(page);
      await p.interact(page);
      interaction.push(await longest());
      await context.close();
    }
    const row = { page: p.name, cold: median(cold), warm: median(warm), interaction: median(interaction), what: p.what };
    row.ok = row.cold < LCP_TARGET_MS && row.warm < LCP_TARGET_MS && row.interaction < INTERACTION_TARGET_MS;
    missed ||= !row.ok;
    rows.push(row);
    console.log(`${p.name}: LCP cold ${row.cold.toFixed(0)} ms, warm ${row.warm.toFixed(0)} ms; ${p.what} ${row.interaction.toFixed(0)} ms`);
  }
  await browser.close();

  const table = rows
    .map((r) => `| ${r.page} | ${r.cold.toFixed(0)} | ${r.warm.toFixed(0)} | ${r.what}: ${r.interaction.toFixed(0)} | ${r.ok ? "met" : "**missed**"} |`)
    .join("\n");
  const doc = `# Time to interactive

Measured by \`npm run perf\` (\`web/scripts/perf.mjs\`) in Debian's Chromium against the
local stack (\`cargo run --release -p devstack\`, the production build of the SPA), at
1280 × 900, on ${new Date().toISOString().slice(0, 10)}. Each figure is the median of ${RUNS} runs.

- **LCP cold**: largest contentful paint of the page opened in a new browser context
  (empty HTTP cache, no app state), in ms from navigation start.
- **LCP warm**: the same page opened again in that context (scripts and styles cached).
- **Interaction**: the longest Event Timing entry (input to the next paint) of one UI
  update on the page; Chromium does not report events under 16 ms, so 16 means "at most 16".

Targets (the seed's): under ${LCP_TARGET_MS} ms to interactive, under ${INTERACTION_TARGET_MS} ms for UI updates.

| page | LCP cold (ms) | LCP warm (ms) | interaction (ms) | target |
|---|---|---|---|---|
${table}

The machine is shared and has 2 cores; compare runs on one machine, not across machines.
`;
  await writeFile(path.join(here, "..", "perf.md"), doc);
  console.log(`wrote web/perf.md${missed ? " (a target was missed)" : ""}`);
  process.exit(missed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
