// Shared helpers for the end-to-end suite: configuration from the environment,
// the browser, admin and shopper API calls, polling and screenshots.
//
// Environment:
//   STOREFRONT_URL  the storefront origin (the built SPA, /config.json, /dev/token, /live);
//                   default http://127.0.0.1:3001 (what `devstack up` uses)
//   API_URL         the API; default: `apiUrl` from the storefront's /config.json
//   ADMIN_TOKEN     a bearer token in the admin group; default: one from the local
//                   sign-in (`POST {STOREFRONT_URL}/dev/token` with admin: true)
//   CHROMIUM_PATH   the browser; default /usr/bin/chromium (Debian's `chromium` package)
//   E2E_HEADED=1    show the browser (needs a display)

import { mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Screenshots go to test-artifacts/screenshots/ at the repository root (gitignored). */
export const SCREENSHOT_DIR = path.resolve(here, "..", "..", "test-artifacts", "screenshots");

export const STOREFRONT_URL = (process.env.STOREFRONT_URL || "http://127.0.0.1:3001").replace(/\/+$/, "");
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** A short id unique to this run (and process), so reruns against a kept stack never collide. */
export const RUN = `${Date.now().toString(36)}${process.pid.toString(36)}`.toUpperCase();

/** Only letters: a search word no seeded title contains (the index tokenizes on letters/digits). */
export function uniqueWord(prefix) {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let n = Date.now() * 1000 + process.pid + Math.floor(Math.random() * 1000);
  let word = "";
  for (let i = 0; i < 8; i += 1) {
    word += letters[n % 26];
    n = Math.floor(n / 26);
  }
  return `${prefix}${word}`;
}

let config = null;

/** The storefront's /config.json, plus the API URL and admin token the suite uses. */
export async function settings() {
  if (config) return config;
  const res = await fetch(`${STOREFRONT_URL}/config.json`).catch((e) => {
    throw new Error(`the storefront is not reachable at ${STOREFRONT_URL} (set STOREFRONT_URL): ${e.message}`);
  });
  if (!res.ok) throw new Error(`GET ${STOREFRONT_URL}/config.json answered ${res.status}`);
  const site = await res.json();
  const apiUrl = (process.env.API_URL || site.apiUrl).replace(/\/+$/, "");
  const adminToken = process.env.ADMIN_TOKEN || (await devToken(`e2e-admin-${RUN}`.toLowerCase(), true)).token;
  config = { apiUrl, adminToken, site };
  return config;
}

/** Local sign-in as the SPA does it: `POST {STOREFRONT_URL}/dev/token`. */
export async function devToken(user, admin = false) {
  const res = await fetch(`${STOREFRONT_URL}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, admin }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || typeof body?.token !== "string") {
    throw new Error(`POST /dev/token for ${user} answered ${res.status}: ${JSON.stringify(body)}`);
  }
  return body;
}

/** Calls the API; returns `{ status, body }` (body parsed from JSON when there is one). */
export async function api(method, urlPath, { token, body, headers = {} } = {}) {
  const { apiUrl } = await settings();
  const res = await fetch(`${apiUrl}${urlPath}`, {
    method,
    headers: {
      accept: "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

function check(reply, what, ...ok) {
  if (!ok.includes(reply.status)) {
    throw new Error(`${what}: unexpected ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
  return reply.body;
}

/** Creates (or replaces) a product as an admin, sets its stock and waits until search finds it. */
export async function createProduct({ id, title, brand = "Acme", categoryId = "home-kitchen-lighting", amount, stock, searchFor }) {
  const { adminToken } = await settings();
  const body = {
    title,
    description: `Made by the end-to-end suite (run ${RUN}).`,
    brand,
    categoryId,
    price: { amount, currency: "USD" },
  };
  check(await api("PUT", `/admin/products/${id}`, { token: adminToken, body }), `PUT /admin/products/${id}`, 200, 201);
  if (stock !== undefined) await setStock(id, stock);
  if (searchFor) {
    await eventually(`search for "${searchFor}" finds ${id}`, 15_000, async () => {
      const r = await api("GET", `/search?q=${encodeURIComponent(searchFor)}&limit=50`);
      return r.status === 200 && r.body.products.some((p) => p.productId === id);
    });
  }
  return { id, stock, ...body };
}

/** `PUT /admin/products/{id}/stock` `{ onHand }` as an admin. */
export async function setStock(id, onHand) {
  const { adminToken } = await settings();
  return check(
    await api("PUT", `/admin/products/${id}/stock`, { token: adminToken, body: { onHand } }),
    `PUT /admin/products/${id}/stock`,
    200,
    201,
    204,
  );
}

/** The shopper buys one unit of `productId` through the API (cart, then checkout); returns the placed order. */
export async function buy(token, productId, idempotencyKey) {
  check(await api("POST", "/cart/items", { token, body: { productId, quantity: 1 } }), "POST /cart/items", 201);
  return check(
    await api("POST", "/orders", {
      token,
      headers: { "idempotency-key": idempotencyKey },
      body: {
        shippingAddress: { name: "Eve Endtoend", line1: "1 Test Street", city: "Springfield", postalCode: "12345", country: "US" },
        paymentMethodId: "pm_card_visa",
      },
    }),
    "POST /orders",
    201,
  );
}

/** Every order of the shopper whose token this is (follows `nextPage`). */
export async function listOrders(token) {
  const orders = [];
  let page;
  for (;;) {
    const query = page ? `?page=${encodeURIComponent(page)}&limit=50` : "?limit=50";
    const body = check(await api("GET", `/orders${query}`, { token }), "GET /orders", 200);
    orders.push(...body.orders);
    if (!body.hasMore || !body.nextPage) return orders;
    page = body.nextPage;
  }
}

/** Polls `fn` until it returns something truthy; throws after `timeout` ms. */
export async function eventually(what, timeout, fn, interval = 50) {
  const started = Date.now();
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() - started > timeout) {
      throw new Error(`${what}: not within ${timeout} ms${last ? ` (last error: ${last.message})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Waits until the locator's text matches (a string means "contains"); returns the text. */
export async function waitForText(locator, expected, timeout = 10_000) {
  let text = null;
  try {
    return await eventually(`text ${expected}`, timeout, async () => {
      text = await locator.textContent({ timeout: 1_000 });
      const ok = typeof expected === "string" ? text?.includes(expected) : expected.test(text ?? "");
      return ok ? text : null;
    });
  } catch {
    throw new Error(`${locator} did not show ${expected} within ${timeout} ms; it shows ${JSON.stringify(text)}`);
  }
}

/** Waits until the locator matches exactly `n` elements. */
export async function waitForCount(locator, n, timeout = 10_000) {
  let count = -1;
  try {
    await eventually(`count ${n}`, timeout, async () => (count = await locator.count()) === n);
  } catch {
    throw new Error(`${locator}: expected ${n} elements within ${timeout} ms, found ${count}`);
  }
}

export async function launch() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: run scripts/test (which installs Debian's chromium package) ` +
        "or `apt-get install chromium`, or set CHROMIUM_PATH",
    );
  }
  await settings();
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: process.env.E2E_HEADED !== "1",
    // The tests run as root (no user namespaces for the sandbox); small /dev/shm in containers.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

function jwtExpiry(token) {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
    return typeof payload.exp === "number" ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * A fresh browser context (its own localStorage), signed in as `user` when given:
 * a dev token stored the way the app keeps it (`shop.auth`, the Zustand persist
 * format of src/auth/store.ts), with `session`'s fields over the stored session's
 * (`{ expiresAt, mode, refreshToken }`, say). Returns `{ context, page, token, user }`.
 */
export async function openShop(browser, user, session = {}) {
  let storageState;
  let token = null;
  if (user) {
    const signed = await devToken(user, false);
    token = signed.token;
    const stored = { token, user: signed.user, admin: false, expiresAt: jwtExpiry(token), mode: "dev", ...session };
    storageState = {
      cookies: [],
      origins: [
        {
          origin: STOREFRONT_URL,
          localStorage: [{ name: "shop.auth", value: JSON.stringify({ state: { session: stored }, version: 1 }) }],
        },
      ],
    };
  }
  const context = await browser.newContext({ baseURL: STOREFRONT_URL, viewport: { width: 1280, height: 900 }, storageState });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(20_000);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ""}`));
  return { context, page, token, user, problems };
}

/**
 * Runs `fn` with a fresh signed-in page (`session` as for `openShop`); on failure saves a
 * screenshot and prints what the page logged.
 */
export async function withShop(browser, name, user, fn, session = {}) {
  const shop = await openShop(browser, user, session);
  try {
    await fn(shop);
  } catch (e) {
    await screenshot(shop.page, `failure-${name}`).catch(() => {});
    if (shop.problems.length) console.error(`[${name}] the page logged:\n  ${shop.problems.join("\n  ")}`);
    console.error(`[${name}] failed at ${shop.page.url()}`);
    throw e;
  } finally {
    await shop.context.close();
  }
}

/**
 * Saves a PNG as test-artifacts/screenshots/<name>.png: the full page, or just
 * the viewport with `{ fullPage: false }` (right for a modal drawer).
 */
export async function screenshot(page, name, { fullPage = true } = {}) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  // Let lazy chunks, fonts and images settle so the picture shows the page, not a spinner.
  await page.waitForLoadState("networkidle", { timeout: 3_000 }).catch(() => {});
  await page.screenshot({ path: file, fullPage, animations: "disabled" });
  return file;
}

/** Fills the checkout's shipping form and continues to payment. */
export async function fillShipping(page, name) {
  await page.getByTestId("checkout-shipping-form").waitFor();
  await page.getByTestId("shipping-name").fill(name);
  await page.getByTestId("shipping-line1").fill("1 Test Street");
  await page.getByTestId("shipping-city").fill("Springfield");
  await page.getByTestId("shipping-postalCode").fill("12345");
  await page.getByTestId("shipping-country").fill("US");
}

/** The `data-state` of the checkout machine, parsed. */
export async function checkoutState(page) {
  return JSON.parse((await page.getByTestId("checkout").getAttribute("data-state")) ?? "null");
}

/** Calls `sent` and `received` with the text of each frame on the page's WebSockets (call before `page.goto`). */
export function onSocketFrames(page, { sent = () => {}, received = () => {} }) {
  const text = (f) => (typeof f.payload === "string" ? f.payload : f.payload.toString("utf8"));
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => sent(text(f)));
    ws.on("framereceived", (f) => received(text(f)));
  });
}

/**
 * Records the live socket's subscribe messages from now on (call before `page.goto`).
 * Returns `subscribed(productId)`, which waits until one named the product, then a moment
 * more: the server handles a subscribe asynchronously (a DynamoDB write).
 */
export function watchSubscribes(page) {
  const sent = [];
  onSocketFrames(page, {
    sent: (text) => {
      if (text.includes('"subscribe"')) sent.push(text);
    },
  });
  return async (productId) => {
    await eventually(`the page subscribed to ${productId}`, 10_000, async () => sent.some((t) => t.includes(productId)));
    await new Promise((r) => setTimeout(r, 250));
  };
}

/**
 * Creates `count` products that a search for `word` finds (`product(i, Word)` gives each one's
 * `createProduct` fields, with `Word` the capitalised word for its title), and waits until the
 * search finds them all with their stock. Returns the word.
 */
export async function createSearchable(prefix, count, product) {
  const word = uniqueWord(prefix);
  const Word = word[0].toUpperCase() + word.slice(1);
  const made = [];
  for (let i = 0; i < count; i += 1) made.push(await createProduct(product(i, Word)));
  await eventually(`search for "${word}" finds all ${count}`, 30_000, async () => {
    const r = await api("GET", `/search?q=${encodeURIComponent(word)}&limit=50`);
    return (
      r.status === 200 &&
      r.body.totalCount === count &&
      r.body.products.every((p) => p.available === made.find((m) => m.id === p.productId)?.stock)
    );
  });
  return word;
}
