// Reviews on the product page: a buyer writes one and the rating histogram
// follows (counted from the table's stream); a shopper who did not buy the
// product is refused and nothing changes.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, api, buy, createProduct, eventually, launch, waitForText, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function writeReview(page, stars, title, body) {
  const form = page.getByTestId("review-form");
  await form.waitFor();
  await page.getByTestId(`review-rating-${stars}`).check();
  await page.getByTestId("review-title-input").fill(title);
  await page.getByTestId("review-body-input").fill(body);
  await page.getByTestId("review-submit").click();
}

test("a buyer writes a review and the histogram follows; a non-buyer is refused", { timeout: 90_000 }, async () => {
  const product = await createProduct({ id: `E2E-${RUN}-REVIEW`, title: `Reviewed Lamp ${RUN}`, amount: 4200, stock: 5 });
  const title = `Bright and warm ${RUN}`;

  await withShop(browser, "review-non-buyer", `e2e-nobuy-${RUN}`.toLowerCase(), async ({ page }) => {
    await page.goto(`/products/${product.id}`);
    await waitForText(page.getByTestId("rating-histogram"), "0 ratings");
    await writeReview(page, 1, "Never bought it", "But I have opinions.");
    await waitForText(page.getByTestId("review-error"), "Only shoppers who bought this product can review it.");
    const listed = await api("GET", `/products/${product.id}/reviews`);
    assert.equal(listed.body.reviews.length, 0, "the refusal wrote nothing");
  });

  await withShop(browser, "review-buyer", `e2e-buyer-${RUN}`.toLowerCase(), async ({ page, token }) => {
    await buy(token, product.id, `e2e-review-${RUN}`);
    await page.goto(`/products/${product.id}`);
    const fourStars = page.getByTestId("histogram-4");
    assert.equal(await fourStars.getAttribute("data-count"), "0");
    await writeReview(page, 4, title, "Lights the whole room.\nWould buy again.");
    await page.getByTestId("review-saved").waitFor();
    await waitForText(page.getByTestId("review-title").first(), title);
    // Counted by update-ratings within seconds; the page looks again meanwhile.
    await eventually("the histogram counts the review", 10_000, async () => (await fourStars.getAttribute("data-count")) === "1");
    await waitForText(page.getByTestId("rating-histogram"), "1 rating");
    // The product's own rating, in the page header, follows too.
    await waitForText(page.locator(".product-info .rating"), "4.0");
  });
});
