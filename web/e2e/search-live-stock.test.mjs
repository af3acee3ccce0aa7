// Live stock on the search page survives scrolling: a stock change pushed to a
// row of the first page must still show after the next page has loaded. (Each
// row compares the push's time with the time its own page loaded; the time the
// latest page loaded would drop every push that came before it.)

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, createSearchable, eventually, launch, setStock, waitForText, watchSubscribes, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** One more product than a search page holds (SEARCH_PAGE_SIZE in src/api/endpoints.ts). */
const PRODUCTS = 21;

test("a stock push to a search row still shows after the next page loads", { timeout: 120_000 }, async () => {
  const word = await createSearchable("scrol", PRODUCTS, (i, Word) => ({
    id: `E2E-${RUN}-ROW${String(i).padStart(2, "0")}`,
    title: `${Word} Reading Lamp ${i}`,
    amount: 2500 + i,
    stock: 40,
  }));
  const user = `e2e-scroll-${RUN}`.toLowerCase();

  await withShop(browser, "search-live-stock", user, async ({ page }) => {
    const subscribed = watchSubscribes(page);

    await page.goto(`/search?q=${encodeURIComponent(word)}`);
    const firstRow = page.getByTestId("search-result").first();
    await firstRow.waitFor();
    const id = await firstRow.getAttribute("data-product-id");
    const row = page.locator(`[data-testid="search-result"][data-product-id="${id}"]`);
    const availability = row.getByTestId("search-result-availability");
    await waitForText(availability, "In stock");
    await eventually("the live socket is open", 10_000, async () => (await page.getByTestId("live-status").getAttribute("data-status")) === "open");
    await subscribed(id);

    // Only the first page is loaded so far: the push comes between the two pages.
    assert.equal(await page.getByText("End of results.").count(), 0);
    await setStock(id, 2);
    await waitForText(availability, "Only 2 left", 5_000);

    // The next page loads as the list's end comes near.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.getByText("End of results.").waitFor({ timeout: 15_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await row.waitFor();
    // The first page was loaded before the push, so the push still wins.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await availability.textContent())?.trim(), "Only 2 left");
  });
});
