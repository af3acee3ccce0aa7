// What the shop learns about a product's stock (a live push, or a 409 that says
// how many are left) reaches the product page's data, so the quantity picker
// never offers more than are left next to "Only N left".

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, createProduct, eventually, launch, setStock, waitForText, watchSubscribes, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The quantities the picker offers. */
async function offered(page) {
  return page.getByTestId("add-to-cart-quantity").locator("option").count();
}

test("a stock push limits the quantity picker", { timeout: 60_000 }, async () => {
  const product = await createProduct({ id: `E2E-${RUN}-PICK`, title: `Picker Pouf ${RUN}`, amount: 4500, stock: 40 });
  const user = `e2e-picker-${RUN}`.toLowerCase();

  await withShop(browser, "stock-picker-push", user, async ({ page }) => {
    const subscribed = watchSubscribes(page);
    await page.goto(`/products/${product.id}`);
    const availability = page.getByTestId("product-availability");
    await waitForText(availability, "In stock");
    assert.equal(await offered(page), 10);
    await subscribed(product.id);

    await setStock(product.id, 2);
    await waitForText(availability, "Only 2 left", 5_000);
    await eventually("the picker offers 2", 5_000, async () => (await offered(page)) === 2);
  });
});

test("a 409 saying how many are left limits the quantity picker and the label", { timeout: 60_000 }, async () => {
  const product = await createProduct({ id: `E2E-${RUN}-PICK409`, title: `Refused Recliner ${RUN}`, amount: 39900, stock: 40 });
  const user = `e2e-picker409-${RUN}`.toLowerCase();

  await withShop(browser, "stock-picker-409", user, async ({ page }) => {
    // No pushes reach this page: its socket talks to nobody.
    await page.routeWebSocket(/\/live/, () => {});
    await page.goto(`/products/${product.id}`);
    const availability = page.getByTestId("product-availability");
    await waitForText(availability, "In stock");

    await setStock(product.id, 1);
    await page.getByTestId("add-to-cart-quantity").selectOption("3");
    await page.getByTestId("add-to-cart").click();
    await waitForText(page.getByTestId("add-to-cart-error"), `Only 1 left of “${product.title}”`);
    await waitForText(availability, "Only 1 left", 5_000);
    await eventually("the picker offers 1", 5_000, async () => (await offered(page)) === 1);
  });
});
