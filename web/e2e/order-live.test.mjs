// Live order status: when an admin records a fulfilment step, an open order page shows it
// over the WebSocket without a reload. The socket only nudges; the page refetches the order
// signed in, so the status it shows is the one GET /orders/{id} returns.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, api, buy, createProduct, eventually, launch, onSocketFrames, screenshot, settings, waitForText, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** How long a pushed change may take to show. */
const PUSH_DEADLINE_MS = 5_000;

test("an open order page follows the status an admin records, without a reload", { timeout: 90_000 }, async (t) => {
  const product = await createProduct({ id: `E2E-${RUN}-ORDLIVE`, title: `Status Lamp ${RUN}`, amount: 1900, stock: 5 });
  const user = `e2e-order-live-${RUN}`.toLowerCase();
  const { adminToken } = await settings();

  await withShop(browser, "order-live", user, async ({ page, token }) => {
    const order = await buy(token, product.id, `e2e-order-live-${RUN}`);
    let subscribed = false;
    let nudges = 0;
    const shapes = [];
    onSocketFrames(page, {
      sent: (text) => {
        if (text.includes('"subscribe"') && text.includes(order.orderId)) subscribed = true;
      },
      received: (text) => {
        if (!text.includes(order.orderId)) return;
        nudges += 1;
        shapes.push(Object.keys(JSON.parse(text)).sort().join(","));
      },
    });

    await page.goto(`/orders/${order.orderId}`);
    const status = page.getByTestId("order-status");
    await waitForText(status, "Confirmed");
    await eventually("the page subscribed to the order", 10_000, async () => subscribed);
    await new Promise((r) => setTimeout(r, 250)); // the subscribe is a DynamoDB write on the server
    await page.evaluate(() => (window.__e2eSameDocument = true));

    for (const [body, label] of [
      [{ status: "packed" }, "Packed"],
      [{ status: "shipped", trackingNumber: `TRK${RUN}` }, "Shipped"],
      [{ status: "delivered" }, "Delivered"],
    ]) {
      const started = Date.now();
      const r = await api("POST", `/admin/orders/${order.orderId}/status`, { token: adminToken, body });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitForText(status, label, PUSH_DEADLINE_MS);
      assert.equal(await status.getAttribute("data-status"), body.status);
      t.diagnostic(`${body.status} shown on the open page ${Date.now() - started} ms after the admin's call`);
      if (body.status === "shipped") {
        await waitForText(page.getByTestId("order-timeline"), `tracking TRK${RUN}`);
        await screenshot(page, "16-order-live-status");
      }
    }
    const done = page.locator('[data-testid="order-timeline-step"].done');
    assert.equal(await done.count(), 4, "confirmed, packed, shipped and delivered are all done");
    assert.ok(nudges >= 3, `order nudges received: ${nudges}`);
    // The socket carries no order data: only the type and the id.
    assert.deepEqual([...new Set(shapes)], ["orderId,type"]);
    assert.equal(await page.evaluate(() => window.__e2eSameDocument), true, "the page did not reload");
  });
});
