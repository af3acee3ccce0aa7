// The header's search box suggests products as you type, forgiving typos,
// and the search page's "Customer rating" facet filters on stars.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, api, createSearchable, eventually, launch, screenshot, waitForCount, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("the header search suggests products as you type, typos forgiven", { timeout: 120_000 }, async (t) => {
  const word = await createSearchable("sugg", 3, (i, Word) => ({
    id: `E2E-${RUN}-SUGG${i}`,
    title: `${Word} Reading Lamp ${i}`,
    amount: 2900 + i,
    stock: 4,
  }));
  const ours = (id) => id.startsWith(`E2E-${RUN}-SUGG`);

  await withShop(browser, "header-search", null, async ({ page }) => {
    await page.goto("/");
    const input = page.getByTestId("header-search-input");
    const options = page.getByTestId("header-suggestion");
    const ids = async () => (await options.evaluateAll((els) => els.map((el) => el.getAttribute("data-product-id")))).filter(ours);

    // Half a word: its start is enough.
    const started = Date.now();
    await input.fill(word.slice(0, word.length - 3));
    await eventually("suggestions for the start of the word", 5_000, async () => (await ids()).length === 3);
    t.diagnostic(`suggestions shown ${Date.now() - started} ms after typing`);
    assert.equal(await input.getAttribute("aria-expanded"), "true");
    await screenshot(page, "17-header-suggestions", { fullPage: false });

    // The whole word with two letters swapped: forgiven.
    const swapped = `${word.slice(0, 5)}${word[6]}${word[5]}${word.slice(7)}`;
    await input.fill(swapped);
    await eventually("suggestions for a misspelt word", 5_000, async () => (await ids()).length === 3);

    // Arrow down to the first suggestion and Enter opens that product.
    await input.press("ArrowDown");
    const first = await options.first().getAttribute("data-product-id");
    assert.equal(await input.getAttribute("aria-activedescendant"), await options.first().getAttribute("id"));
    await input.press("Enter");
    await page.waitForURL(`**/products/${first}`);
    await page.getByTestId("product-title").waitFor();

    // Enter without choosing searches the words; Escape closes the list.
    await input.fill(word);
    await eventually("suggestions again", 5_000, async () => (await ids()).length === 3);
    await input.press("Escape");
    assert.equal(await input.getAttribute("aria-expanded"), "false");
    await input.press("Enter");
    await page.waitForURL((url) => url.pathname === "/search" && url.searchParams.get("q") === word);
    await waitForCount(page.getByTestId("search-result"), 3);
  });
});

test("the customer rating facet keeps only products rated that many stars or more", { timeout: 60_000 }, async () => {
  const all = await api("GET", "/search?limit=1");
  const rated = await api("GET", "/search?ratingMin=4&limit=1");
  assert.ok(rated.body.totalCount > 0 && rated.body.totalCount < all.body.totalCount, "the catalog has ratings on both sides of 4");

  await withShop(browser, "rating-facet", null, async ({ page }) => {
    await page.goto("/search");
    const count = page.getByTestId("search-count");
    await eventually("the unfiltered count", 10_000, async () => (await count.textContent()).startsWith(`${all.body.totalCount} `));
    await page.locator('[data-testid="facet-rating"][data-value="4"]').check();
    await page.waitForURL((url) => url.searchParams.get("ratingMin") === "4");
    await eventually("the filtered count", 10_000, async () => (await count.textContent()).startsWith(`${rated.body.totalCount} `));
    const stars = await page
      .getByTestId("search-result")
      .locator(".rating")
      .evaluateAll((els) => els.map((el) => Number(/Rated ([\d.]+)/.exec(el.getAttribute("aria-label"))[1])));
    assert.ok(stars.length > 0 && stars.every((s) => s >= 4), `ratings shown: ${stars}`);
  });
});
