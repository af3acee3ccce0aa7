// Live stock: a change made through the admin API reaches an open product page
// over the WebSocket within a couple of seconds, without a reload.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, createProduct, eventually, launch, onSocketFrames, screenshot, setStock, waitForText, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** How long a pushed change may take to show (the issue asks for about a second). */
const PUSH_DEADLINE_MS = 3_000;

test("a stock change made through the admin API appears on an open product page", { timeout: 60_000 }, async (t) => {
  const product = await createProduct({
    id: `E2E-${RUN}-LIVE`,
    title: `Live Wire Lamp ${RUN}`,
    amount: 4200,
    stock: 12,
  });
  const user = `e2e-live-${RUN}`.toLowerCase();

  await withShop(browser, "live-stock", user, async ({ page }) => {
    // Watch the socket: the page must have subscribed to this product before the change.
    let subscribed = false;
    let pushes = 0;
    onSocketFrames(page, {
      sent: (text) => {
        if (text.includes('"subscribe"') && text.includes(product.id)) subscribed = true;
      },
      received: (text) => {
        if (text.includes(product.id)) pushes += 1;
      },
    });

    await page.goto(`/products/${product.id}`);
    await waitForText(page.getByTestId("product-title"), product.title);
    const availability = page.getByTestId("product-availability");
    await waitForText(availability, "In stock");
    await eventually("the live socket is open", 10_000, async () => (await page.getByTestId("live-status").getAttribute("data-status")) === "open");
    await eventually("the page subscribed to the product", 10_000, async () => subscribed);
    // The subscribe is handled asynchronously on the server (a DynamoDB write); a moment for it.
    await new Promise((r) => setTimeout(r, 250));
    // A mark on this document: if the page reloaded, it would be gone.
    await page.evaluate(() => (window.__e2eSameDocument = true));

    for (const [onHand, label] of [
      [3, "Only 3 left"],
      [0, "Out of stock"],
      [7, "In stock"],
    ]) {
      const started = Date.now();
      await setStock(product.id, onHand);
      await waitForText(availability, label, PUSH_DEADLINE_MS);
      const ms = Date.now() - started;
      assert.equal(await availability.getAttribute("data-available"), String(onHand));
      t.diagnostic(`onHand ${onHand} → "${label}" on the open page in ${ms} ms`);
      if (onHand === 3) await screenshot(page, "14-product-live-stock");
      if (onHand === 0) {
        await waitForText(page.getByTestId("add-to-cart"), "Sold out");
        assert.equal(await page.getByTestId("add-to-cart").isDisabled(), true);
      }
    }
    assert.ok(pushes >= 3, `pushed stock messages: ${pushes}`);
    // No reload happened: the same document saw every change.
    assert.equal(await page.evaluate(() => window.__e2eSameDocument), true);
  });
});
