// A refused add: the line shows at once, then the API answers 409
// INSUFFICIENT_INVENTORY and the line is rolled back with a message saying how
// many are left. The page has not heard that the stock fell (its live socket
// talks to nobody), so its picker still offers the quantity.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, api, createProduct, launch, screenshot, setStock, settings, waitForCount, waitForText, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("an add the API refuses is rolled back with how many are left", { timeout: 60_000 }, async () => {
  const { apiUrl } = await settings();
  const product = await createProduct({
    id: `E2E-${RUN}-LAST`,
    title: `Last One Lantern ${RUN}`,
    amount: 2599,
    stock: 10,
  });
  const user = `e2e-refused-${RUN}`.toLowerCase();

  await withShop(browser, "cart-refusal", user, async ({ page, token }) => {
    await page.routeWebSocket(/\/live/, () => {});
    await page.goto(`/products/${product.id}`);
    await waitForText(page.getByTestId("product-title"), product.title);
    const availability = page.getByTestId("product-availability");
    await waitForText(availability, "In stock");
    assert.equal(await availability.getAttribute("data-available"), "10");
    // Sold elsewhere while the page is open: one left.
    await setStock(product.id, 1);

    // Hold the add at the network to see the optimistic line before the refusal.
    let release;
    const held = new Promise((r) => (release = r));
    const answers = [];
    const isAdd = (u) => u.href === `${apiUrl}/cart/items`;
    await page.route(isAdd, async (route) => {
      if (route.request().method() !== "POST") return route.fallback();
      await held;
      await route.fallback();
    });
    page.on("response", (r) => {
      if (isAdd(new URL(r.url())) && r.request().method() === "POST") answers.push(r.status());
    });

    await page.getByLabel("Quantity").selectOption("3");
    await page.getByTestId("add-to-cart").click();
    const drawer = page.getByTestId("cart-drawer");
    await drawer.waitFor({ state: "visible" });
    const line = drawer.locator(`[data-testid="cart-line"][data-product-id="${product.id}"]`);
    await line.waitFor();
    assert.equal(await line.getByTestId("cart-line-quantity").inputValue(), "3");
    await waitForText(page.getByTestId("cart-count"), "3");

    release();
    await waitForCount(line, 0);
    const message = `Only 1 left of “${product.title}”, so 3 could not be added.`;
    const error = drawer.getByTestId("cart-error");
    await waitForText(error, message);
    await waitForText(page.getByTestId("cart-drawer").getByTestId("toast"), message);
    assert.equal(await error.getAttribute("role"), "alert");
    await waitForText(drawer.getByTestId("cart-empty"), "Your cart is empty.");
    await waitForText(page.getByTestId("cart-count"), "0");
    assert.deepEqual(answers, [409], "the API refused the add once");
    // The product page says it too (under the drawer).
    await waitForText(page.getByTestId("add-to-cart-error"), message);
    await screenshot(page, "13-cart-refused", { fullPage: false });
    await page.unroute(isAdd);

    // Nothing was reserved: the server's cart is empty and the one unit is still for sale.
    const cart = await api("GET", "/cart", { token });
    assert.equal(cart.status, 200);
    assert.equal(cart.body.items.length, 0, JSON.stringify(cart.body));
    const detail = await api("GET", `/products/${product.id}`);
    assert.equal(detail.body.available, 1);

    // What is left can still be added.
    await page.getByTestId("cart-close").click();
    await drawer.waitFor({ state: "hidden" });
    await page.getByLabel("Quantity").selectOption("1");
    await page.getByTestId("add-to-cart").click();
    await drawer.waitFor({ state: "visible" });
    await line.waitFor();
    await waitForText(line.getByTestId("cart-line-reservation"), /Reserved for/);
    await waitForCount(drawer.getByTestId("cart-error"), 0);
    await waitForText(page.getByTestId("cart-count"), "1");
  });
});
