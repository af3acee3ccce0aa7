// The shopper who reserves the last unit: the live push that follows says the
// product is sold out, and the cart line must not tell them it sold out
// "elsewhere": their own reservation took it, and their units are held.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, createProduct, launch, waitForText, watchSubscribes, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("reserving the last unit does not say it sold out elsewhere", { timeout: 60_000 }, async () => {
  const product = await createProduct({
    id: `E2E-${RUN}-ONLY`,
    title: `Only One Ottoman ${RUN}`,
    amount: 8900,
    stock: 1,
  });
  const user = `e2e-last-${RUN}`.toLowerCase();

  await withShop(browser, "last-unit", user, async ({ page }) => {
    const subscribed = watchSubscribes(page);
    await page.goto(`/products/${product.id}`);
    const availability = page.getByTestId("product-availability");
    await waitForText(availability, "Only 1 left");
    await subscribed(product.id);

    await page.getByTestId("add-to-cart").click();
    const drawer = page.getByTestId("cart-drawer");
    await drawer.waitFor({ state: "visible" });
    const line = drawer.locator(`[data-testid="cart-line"][data-product-id="${product.id}"]`);
    await waitForText(line.getByTestId("cart-line-reservation"), /Reserved for/);
    // The push of this shopper's own reservation: none left.
    await waitForText(availability, "Out of stock", 5_000);
    const warning = line.getByTestId("cart-line-stock-warning");
    const text = await waitForText(warning, "held for you");
    assert.ok(!/elsewhere/i.test(text), `the line says: ${text}`);
  });
});
