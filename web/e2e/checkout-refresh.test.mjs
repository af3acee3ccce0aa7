// A refresh during checkout keeps the shopper's progress and the order's
// Idempotency-Key: retrying after a refresh that lost the first answer replays
// that order instead of making a second one.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, api, createProduct, fillShipping, launch, listOrders, settings, waitForText, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("a refresh keeps the checkout step and the Idempotency-Key", { timeout: 90_000 }, async () => {
  const { apiUrl } = await settings();
  const product = await createProduct({ id: `E2E-${RUN}-REFRESH`, title: `Refreshed Rug ${RUN}`, amount: 12900, stock: 5 });
  const user = `e2e-refresh-${RUN}`.toLowerCase();

  await withShop(browser, "checkout-refresh", user, async ({ page, token }) => {
    const added = await api("POST", "/cart/items", { token, body: { productId: product.id, quantity: 1 } });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const step = page.getByTestId("checkout-step");

    await page.goto("/checkout");
    await waitForText(step, "Shipping");
    await fillShipping(page, "Rhea Refresh");
    await page.getByTestId("checkout-shipping-next").click();
    await waitForText(step, "Payment");
    await page.reload();
    await waitForText(step, "Payment");
    await page.getByTestId("payment-pm_card_visa").check();
    await page.getByTestId("checkout-payment-next").click();
    await waitForText(step, "Review");
    await page.reload();
    await waitForText(step, "Review");
    await waitForText(page.getByTestId("review-line"), `1 × ${product.title}`);

    // The first Place reaches the API, which places the order, but its answer is lost.
    const keys = [];
    const isPlace = (u) => u.href === `${apiUrl}/orders`;
    await page.route(isPlace, async (route) => {
      if (route.request().method() !== "POST") return route.fallback();
      keys.push(route.request().headers()["idempotency-key"]);
      if (keys.length === 1) {
        await route.fetch();
        await route.abort("connectionreset");
      } else {
        await route.fallback();
      }
    });
    await page.getByTestId("place-order").click();
    await page.getByTestId("checkout-error").waitFor();
    assert.equal((await listOrders(token)).length, 1, "the first request placed the order");

    // The shopper refreshes: the page says the order may have gone through, and Retry asks
    // again with the same key.
    await page.reload();
    await waitForText(step, "Review");
    await waitForText(page.getByTestId("checkout-error"), "may or may not have been placed");
    await page.getByTestId("checkout-retry").click();
    await page.getByTestId("checkout-confirmation").waitFor({ timeout: 20_000 });
    const orderId = (await page.getByTestId("confirmation-order-id").textContent())?.trim();

    assert.equal(keys.length, 2);
    assert.ok(keys[0] && keys[0] === keys[1], `one Idempotency-Key across the refresh: ${JSON.stringify(keys)}`);
    assert.deepEqual(
      (await listOrders(token)).map((o) => o.orderId),
      [orderId],
      "the second Place replayed the first order",
    );
  });
});
