// A Cognito session outlives its ID token: when the token has expired, the app
// trades the refresh token at the user pool's token endpoint for a new one and
// carries on, instead of sending the shopper to sign in again.
//
// Cognito cannot run here, so the storefront is told (through its /config.json)
// that it signs in with a user pool whose hosted UI lives at an address this
// test answers: its token endpoint mints a real token of the local stack (the
// local API verifies it as it verifies every token), so only the identity
// provider's one endpoint stands in for Cognito.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RUN, STOREFRONT_URL, devToken, launch, waitForText, withShop } from "./helpers.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const POOL = "https://shop-e2e.auth.us-east-1.amazoncognito.com";

test("an expired ID token is refreshed with the refresh token, and the shopper stays signed in", { timeout: 60_000 }, async () => {
  const user = `e2e-refresh-token-${RUN}`.toLowerCase();
  // Expired a minute ago, as far as the app knows.
  const session = { expiresAt: Date.now() - 60_000, mode: "cognito", refreshToken: `refresh-${RUN}` };

  await withShop(
    browser,
    "session-refresh",
    user,
    async ({ page }) => {
      await page.route(`${STOREFRONT_URL}/config.json`, async (route) => {
        const site = await (await route.fetch()).json();
        site.auth = { mode: "cognito", region: "us-east-1", userPoolId: "us-east-1_e2e", clientId: "e2e-client", domain: POOL };
        await route.fulfill({ json: site });
      });
      const grants = [];
      await page.route(`${POOL}/oauth2/token`, async (route) => {
        const form = new URLSearchParams(route.request().postData() ?? "");
        grants.push(Object.fromEntries(form));
        const fresh = await devToken(user, false);
        await route.fulfill({
          json: { id_token: fresh.token, access_token: fresh.token, token_type: "Bearer", expires_in: 3600 },
          headers: { "access-control-allow-origin": "*" },
        });
      });

      await page.goto("/orders");
      await waitForText(page.getByTestId("signed-in-user"), user);
      await page.getByTestId("orders-empty").waitFor({ timeout: 10_000 });
      assert.ok(!page.url().includes("/signin"), `still signed in at ${page.url()}`);
      assert.deepEqual(
        grants.map((g) => [g.grant_type, g.client_id, g.refresh_token]),
        [["refresh_token", "e2e-client", `refresh-${RUN}`]],
        "one refresh grant with the stored refresh token",
      );
    },
    session,
  );
});
