// The order-placed email appears in the dev mailbox: the email worker wrote it
// (from the order's outbox event, through the relay and EmailQueue) and the
// storefront lists it at /dev/mailbox.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, buy, createProduct, launch, waitForText, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("the order-placed mail appears in the dev mailbox", { timeout: 60_000 }, async () => {
  const product = await createProduct({ id: `E2E-${RUN}-MAIL`, title: `Mailed Mug ${RUN}`, amount: 1500, stock: 3 });
  const user = `e2e-mail-${RUN}`.toLowerCase();
  await withShop(browser, "mailbox", user, async ({ page, token }) => {
    const { orderId } = await buy(token, product.id, `e2e-mail-${RUN}`);

    await page.goto("/");
    await page.getByTestId("nav-mailbox").click();
    const mail = page.locator(`[data-mail-id="${orderId}-OrderPlaced-v1"]`);
    await waitForText(mail.getByTestId("mail-subject"), `Your order ${orderId} is confirmed`, 15_000);
    await waitForText(mail, `to ${user}@shop.test`);
    await mail.getByTestId("mail-subject").click();
    const html = await mail.getByTestId("mail-html").getAttribute("srcdoc");
    assert.match(html ?? "", new RegExp(`Mailed Mug ${RUN}`));
  });
});
