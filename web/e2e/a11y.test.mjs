// An axe-core scan of every page (and the open cart drawer) in Chromium, at
// desktop and phone width: no serious or critical violation of WCAG 2.x A/AA.
// Each failing rule is printed with the elements it found. On the way it saves a
// screenshot of each page at each width (test-artifacts/screenshots/page-*.png; the
// ones in web/screenshots/ were copied from a run).

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { RUN, api, buy, createProduct, launch, screenshot, withShop } from "./helpers.mjs";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const WIDTHS = [
  { name: "desktop", width: 1280, height: 900 },
  { name: "phone", width: 390, height: 844 },
];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The serious and critical violations on the page as it is now. */
async function violations(page) {
  await page.waitForLoadState("networkidle", { timeout: 3_000 }).catch(() => {});
  await page.addScriptTag({ path: AXE });
  const results = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join("\n    ")}`);
}

test("every page has no serious or critical accessibility violation", { timeout: 180_000 }, async () => {
  const product = await createProduct({ id: `E2E-${RUN}-A11Y`, title: `Accessible Lamp ${RUN}`, amount: 3100, stock: 5 });
  const user = `e2e-a11y-${RUN}`.toLowerCase();
  const found = [];
  await withShop(browser, "a11y", user, async ({ page, token }) => {
    const placed = await buy(token, product.id, `e2e-a11y-${RUN}`);
    await api("POST", "/cart/items", { token, body: { productId: product.id, quantity: 1 } });
    const pages = [
      ["home", "/", "main"],
      ["search", "/search?q=lamp", '[data-testid="search-result"]'],
      ["category", "/categories/home-kitchen-lighting", '[data-testid="category-product"]'],
      ["product", `/products/${product.id}`, '[data-testid="rating-histogram"]'],
      ["checkout", "/checkout", '[data-testid="checkout-shipping-form"]'],
      ["orders", "/orders", "main"],
      ["order", `/orders/${placed.orderId}`, "main"],
      ["mailbox", "/dev/mailbox", '[data-testid="mail"]'],
    ];
    for (const { name: width, ...viewport } of WIDTHS) {
      await page.setViewportSize(viewport);
      for (const [name, path, ready] of pages) {
        await page.goto(path);
        await page.locator(ready).first().waitFor();
        await screenshot(page, `page-${name}-${width}`, { fullPage: false });
        for (const v of await violations(page)) found.push(`${name} (${width}): ${v}`);
      }
      await page.goto("/");
      await page.getByTestId("cart-toggle").click();
      await page.getByTestId("cart-line").first().waitFor();
      await screenshot(page, `page-cart-${width}`, { fullPage: false });
      for (const v of await violations(page)) found.push(`cart drawer (${width}): ${v}`);
    }
  });
  await withShop(browser, "a11y-signed-out", null, async ({ page }) => {
    for (const { name: width, ...viewport } of WIDTHS) {
      await page.setViewportSize(viewport);
      await page.goto("/signin");
      await page.getByTestId("signin-form").waitFor();
      await screenshot(page, `page-signin-${width}`, { fullPage: false });
      for (const v of await violations(page)) found.push(`signin (${width}): ${v}`);
    }
  });
  assert.deepEqual(found, [], `axe found:\n${found.join("\n")}`);
});
