// The whole shopping path in a real browser: sign in, search, filter by a
// facet, open a product, add it to the cart (the line shows before the API
// answers), check out with a test card and find the order in the history.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  RUN,
  checkoutState,
  createProduct,
  devToken,
  fillShipping,
  launch,
  listOrders,
  screenshot,
  settings,
  uniqueWord,
  waitForCount,
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

test("search with a facet, add to cart, check out and see the order in the history", { timeout: 120_000 }, async () => {
  const { apiUrl } = await settings();
  const word = uniqueWord("lumo");
  const Word = word[0].toUpperCase() + word.slice(1);
  const brandA = `Brightline${RUN}`;
  const brandB = `Dimwell${RUN}`;
  const lamp = await createProduct({
    id: `E2E-${RUN}-LAMP`,
    title: `${Word} Desk Lamp`,
    brand: brandA,
    amount: 3499,
    stock: 20,
    searchFor: word,
  });
  await createProduct({
    id: `E2E-${RUN}-SHADE`,
    title: `${Word} Lamp Shade`,
    brand: brandB,
    amount: 1999,
    stock: 20,
    searchFor: word,
  });
  const user = `e2e-buyer-${RUN}`.toLowerCase();

  // Not signed in: the sign-in page, then back to where we were going.
  await withShop(browser, "shopping", null, async ({ page }) => {
    await page.goto(`/signin?redirect=${encodeURIComponent("/search")}`);
    await page.getByTestId("signin-form").waitFor();
    await screenshot(page, "01-signin");
    await page.getByLabel("User name").fill(user);
    await page.getByTestId("signin-submit").click();
    await page.waitForURL((u) => u.pathname === "/search");
    await waitForText(page.getByTestId("signed-in-user"), user);

    // Typing settles into the URL after the debounce, and the results follow.
    const box = page.getByRole("searchbox", { name: "Search products" });
    await box.pressSequentially(word, { delay: 20 });
    await page.waitForURL((u) => u.searchParams.get("q") === word);
    const rows = page.getByTestId("search-result");
    await waitForCount(rows, 2);
    await waitForText(page.getByTestId("search-count"), /^2 results$/);
    await screenshot(page, "02-search");

    // A brand facet narrows the results through the URL.
    const facet = page.locator(`[data-testid="facet-brand"][data-value="${brandA}"]`);
    await waitForText(page.locator(`label[for="${await facet.getAttribute("id")}"]`), `${brandA} (1)`);
    await facet.check();
    await page.waitForURL((u) => u.searchParams.getAll("brand").includes(brandA) && u.searchParams.get("q") === word);
    await waitForCount(rows, 1);
    await waitForText(page.getByTestId("search-count"), /^1 result$/);
    assert.equal(await rows.first().getAttribute("data-product-id"), lamp.id);
    assert.equal(await facet.isChecked(), true);
    await screenshot(page, "03-search-facet");

    // The product page.
    await rows.first().getByTestId("search-result-title").click();
    await page.waitForURL((u) => u.pathname === `/products/${lamp.id}`);
    await waitForText(page.getByTestId("product-title"), lamp.title);
    await waitForText(page.getByTestId("product-price"), "$34.99");
    await waitForText(page.getByTestId("product-availability"), "In stock");
    await screenshot(page, "04-product");

    // Add 2: the line is in the drawer while the API call is still held back.
    let release;
    const held = new Promise((r) => (release = r));
    let seen = 0;
    await page.route(
      (u) => u.href === `${apiUrl}/cart/items`,
      async (route) => {
        if (route.request().method() !== "POST") return route.fallback();
        seen += 1;
        await held;
        await route.fallback();
      },
    );
    await page.getByLabel("Quantity").selectOption("2");
    await page.getByTestId("add-to-cart").click();
    const drawer = page.getByTestId("cart-drawer");
    await drawer.waitFor({ state: "visible" });
    const line = drawer.locator(`[data-testid="cart-line"][data-product-id="${lamp.id}"]`);
    await line.waitFor();
    assert.equal(seen, 1, "the add is held at the network while the line shows");
    assert.equal(await line.getAttribute("aria-busy"), "true", "the optimistic line is marked as saving");
    assert.equal(await line.getByTestId("cart-line-quantity").inputValue(), "2");
    await waitForText(line.getByTestId("cart-line-total"), "$69.98");
    await screenshot(page, "05-cart-drawer-optimistic", { fullPage: false });
    release();
    await waitForText(line.getByTestId("cart-line-reservation"), /Reserved for \d+:\d\d/);
    assert.equal(await line.getAttribute("aria-busy"), null, "saved");
    await waitForText(drawer.getByTestId("toast"), `Added 2 × “${lamp.title}” to your cart.`);
    await page.unroute((u) => u.href === `${apiUrl}/cart/items`);
    await waitForText(page.getByTestId("cart-count"), "2");
    await waitForText(drawer.getByTestId("cart-subtotal"), "$69.98");
    await screenshot(page, "06-cart-drawer", { fullPage: false });

    // Checkout: shipping → payment → review → place order → confirmation.
    await drawer.getByTestId("cart-checkout").click();
    await page.waitForURL((u) => u.pathname === "/checkout");
    await waitForText(page.getByTestId("checkout-step"), "Shipping");
    await fillShipping(page, "Erin Endtoend");
    await screenshot(page, "07-checkout-shipping");
    await page.getByTestId("checkout-shipping-next").click();

    await waitForText(page.getByTestId("checkout-step"), "Payment");
    await page.getByTestId("payment-pm_card_visa").check();
    await screenshot(page, "08-checkout-payment");
    await page.getByTestId("checkout-payment-next").click();

    await waitForText(page.getByTestId("checkout-step"), "Review");
    await waitForText(page.getByTestId("review-total"), "$75.58"); // 69.98 + 8% tax 5.60, free shipping
    await waitForCount(page.getByTestId("review-line"), 1);
    await waitForText(page.getByTestId("review-line"), `2 × ${lamp.title}`);
    await waitForText(page.getByTestId("review-shipping"), "Free");
    await waitForText(page.getByTestId("review-payment"), "Visa");
    await screenshot(page, "09-checkout-review");
    await page.getByTestId("place-order").click();

    const confirmation = page.getByTestId("checkout-confirmation");
    await confirmation.waitFor({ timeout: 20_000 });
    assert.deepEqual(await checkoutState(page), "confirmation");
    const orderId = (await page.getByTestId("confirmation-order-id").textContent())?.trim();
    assert.ok(orderId, "the confirmation shows the order id");
    await waitForText(page.getByTestId("confirmation-total"), "$75.58");
    await screenshot(page, "10-checkout-confirmation");
    await waitForText(page.getByTestId("cart-count"), "0");

    // The order history has it, and its detail page shows the timeline.
    await page.getByTestId("nav-orders").click();
    await page.waitForURL((u) => u.pathname === "/orders");
    const row = page.locator(`[data-testid="order-row"][data-order-id="${orderId}"]`);
    await row.waitFor();
    await waitForText(row, "$75.58");
    await waitForCount(page.getByTestId("order-row"), 1);
    await screenshot(page, "11-orders");

    await row.getByRole("link", { name: orderId }).click();
    await page.waitForURL((u) => u.pathname === `/orders/${orderId}`);
    await waitForText(page.getByTestId("order-id"), orderId);
    await page.getByTestId("order-timeline").waitFor();
    await waitForText(page.getByTestId("order-line"), lamp.title);
    await waitForText(page.getByTestId("order-total"), "$75.58");
    await screenshot(page, "12-order-detail");
  });

  // The API agrees: one order for this shopper.
  const { token } = await devToken(user);
  const orders = await listOrders(token);
  assert.equal(orders.length, 1, JSON.stringify(orders));
});
