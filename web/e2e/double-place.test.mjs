// A double-clicked "Place order" makes exactly one order (and one charge):
// the button is disabled while placing, the checkout machine ignores a second
// Place, and any request that does go out carries the same Idempotency-Key.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  RUN,
  api,
  checkoutState,
  createProduct,
  fillShipping,
  launch,
  listOrders,
  settings,
  waitForText,
  withShop,
} from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Two ways to click twice: the mouse (Playwright's dblclick), and two clicks in one task, before React re-renders. */
const WAYS = {
  "a mouse double click": async (page) => {
    await page.getByTestId("place-order").dblclick();
  },
  "two clicks in the same task": async (page) => {
    const delivered = await page.getByTestId("place-order").evaluate((button) => {
      let n = 0;
      button.addEventListener("click", () => (n += 1));
      button.click();
      button.click();
      return n;
    });
    // Both reach the button (it is not disabled yet), so the machine itself must ignore the second Place.
    assert.equal(delivered, 2, "both clicks were delivered");
  },
};

for (const [way, doubleClick] of Object.entries(WAYS)) {
  test(`a double-clicked Place order makes one order (${way})`, { timeout: 60_000 }, async (t) => {
    const { apiUrl } = await settings();
    const tag = way.startsWith("a mouse") ? "MOUSE" : "TASK";
    const product = await createProduct({
      id: `E2E-${RUN}-TWICE-${tag}`,
      title: `Twice Clicked Teapot ${tag} ${RUN}`,
      amount: 1500,
      stock: 10,
    });
    const user = `e2e-double-${tag}-${RUN}`.toLowerCase();

    await withShop(browser, `double-place-${tag.toLowerCase()}`, user, async ({ page, token }) => {
      // The cart is filled through the API; the browser picks it up from GET /cart.
      const added = await api("POST", "/cart/items", { token, body: { productId: product.id, quantity: 1 } });
      assert.equal(added.status, 201, JSON.stringify(added.body));

      const placed = [];
      page.on("request", (r) => {
        if (r.method() === "POST" && r.url() === `${apiUrl}/orders`) placed.push(r.headers()["idempotency-key"]);
      });

      await page.goto("/checkout");
      await waitForText(page.getByTestId("checkout-step"), "Shipping");
      await fillShipping(page, "Dee Doubleclick");
      await page.getByTestId("checkout-shipping-next").click();
      await waitForText(page.getByTestId("checkout-step"), "Payment");
      await page.getByTestId("payment-pm_card_visa").check();
      await page.getByTestId("checkout-payment-next").click();
      await waitForText(page.getByTestId("checkout-step"), "Review");
      await waitForText(page.getByTestId("review-line"), `1 × ${product.title}`);

      await doubleClick(page);
      await page.getByTestId("checkout-confirmation").waitFor({ timeout: 20_000 });
      assert.deepEqual(await checkoutState(page), "confirmation");
      const orderId = (await page.getByTestId("confirmation-order-id").textContent())?.trim();

      // Give any stray second request time to land before counting.
      await new Promise((r) => setTimeout(r, 1_500));
      const orders = await listOrders(token);
      assert.deepEqual(
        orders.map((o) => o.orderId),
        [orderId],
        `exactly one order; POST /orders went out ${placed.length} time(s)`,
      );
      assert.ok(
        placed.every((key) => key && key === placed[0]),
        `every POST /orders reuses one Idempotency-Key: ${JSON.stringify(placed)}`,
      );
      // The button is disabled while placing and the machine ignores a second Place.
      assert.equal(placed.length, 1, "one POST /orders for a double click");
      t.diagnostic(`${way}: POST /orders sent ${placed.length} time(s), one order ${orderId}`);
    });
  });
}
