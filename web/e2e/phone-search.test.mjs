// Search at phone width (390 px): result rows whose titles wrap are taller
// than the list's first guess, and must not overlap one another.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, createSearchable, launch, openShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const PRODUCTS = 30;

test("search rows do not overlap at phone width", { timeout: 120_000 }, async () => {
  const word = await createSearchable("narrow", PRODUCTS, (i, Word) => ({
    id: `E2E-${RUN}-PHONE${i}`,
    // Long enough to wrap over several lines in a 390 px row.
    title: `${Word} Extra Long Adjustable Ergonomic Reading and Task Lamp With Dimmer, Model ${i}`,
    amount: 1900 + i,
    stock: 3,
  }));

  const shop = await openShop(browser, null);
  try {
    const page = shop.page;
    const rows = page.getByTestId("search-result");
    const noOverlap = async (when) => {
      const boxes = await rows.evaluateAll((els) =>
        els.map((el) => {
          const r = el.getBoundingClientRect();
          return { id: el.getAttribute("data-product-id"), top: r.top, bottom: r.bottom };
        }),
      );
      boxes.sort((a, b) => a.top - b.top);
      for (let i = 1; i < boxes.length; i += 1) {
        assert.ok(
          boxes[i].top >= boxes[i - 1].bottom - 0.5,
          `${when}: ${boxes[i].id} (top ${boxes[i].top}) overlaps ${boxes[i - 1].id} (bottom ${boxes[i - 1].bottom})`,
        );
      }
    };
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`/search?q=${encodeURIComponent(word)}`);
    await rows.first().waitFor();
    await page.waitForLoadState("networkidle");
    await noOverlap("first view");
    for (let step = 1; step <= 12; step += 1) {
      await page.mouse.wheel(0, 400);
      await new Promise((r) => setTimeout(r, 120));
      await noOverlap(`after scrolling ${step * 400} px`);
    }
    await page.getByText("End of results.").waitFor({ timeout: 15_000 });
    await noOverlap("at the end");
    // From a desktop width down to a phone's, without a reload.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await new Promise((r) => setTimeout(r, 300));
    await page.setViewportSize({ width: 390, height: 844 });
    await new Promise((r) => setTimeout(r, 300));
    await noOverlap("after narrowing the window");
  } finally {
    await shop.context.close();
  }
});
