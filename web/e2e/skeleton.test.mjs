// Content that is loading shows skeletons (grey placeholders in its shape), not a spinner:
// with the product's API answer held at the network, the product page shows a skeleton,
// announced as loading; once the answer goes through, the product replaces it.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, createProduct, launch, settings, waitForCount, waitForText, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("a loading product page shows its skeleton, then the product", { timeout: 60_000 }, async () => {
  const { apiUrl } = await settings();
  const product = await createProduct({ id: `E2E-${RUN}-SKEL`, title: `Skeleton Stool ${RUN}`, amount: 2500, stock: 4 });
  await withShop(browser, "skeleton", null, async ({ page }) => {
    let release;
    const held = new Promise((r) => (release = r));
    await page.route(
      (u) => u.href === `${apiUrl}/products/${product.id}`,
      async (route) => {
        await held;
        await route.fallback();
      },
    );
    await page.goto(`/products/${product.id}`, { waitUntil: "commit" });
    // The route's pending view, or the page's own "Loading product…": a skeleton either way.
    const skeleton = page.getByTestId("skeleton").first();
    await waitForText(skeleton, /Loading/);
    assert.equal(await skeleton.getAttribute("role"), "status");
    assert.equal(await page.locator(".spinner").count(), 0, "no spinner while the product loads");
    release();
    await waitForText(page.getByTestId("product-title"), product.title);
    await waitForCount(page.locator('[data-testid="skeleton"]:has-text("Loading product")'), 0);
  });
});
