import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, fromPromise, waitFor } from "xstate";
import { ApiError, setTokenSource } from "../../api/client";
import type { Cart, PlacedOrder, PlaceOrderInput, ShippingAddress } from "../../api/types";
import { json, mockFetch, problem } from "../../test/http";
import { validateAddress } from "./address";
import { type CheckoutInput, checkoutMachine, progressOf, stepOf, UNCONFIRMED } from "./machine";
import { loadProgress, PROGRESS_KEPT_MS, saveProgress } from "./progress";
import { memoryStorage } from "../../lib/storage";

const usd = (amount: number) => ({ amount, currency: "USD" });
const address: ShippingAddress = { name: "Alice Doe", line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US" };
const cart: Cart = {
  items: [
    {
      productId: "P0000001",
      title: "Widget",
      quantity: 2,
      unitPrice: usd(1999),
      lineTotal: usd(3998),
      reservedUntil: new Date(Date.now() + 600_000).toISOString(),
      reserved: true,
    },
  ],
  subtotal: usd(3998),
  itemCount: 2,
};
const placed: PlacedOrder = {
  orderId: "ord_01JD4R5N8Q2X7Y3Z6A9B0C1D2E",
  status: "confirmed",
  subtotal: usd(3998),
  tax: usd(320),
  shipping: usd(599),
  total: usd(4917),
  estimatedDelivery: "2030-01-08",
  createdAt: "2030-01-01T00:00:00Z",
};

type PlaceCall = { body: PlaceOrderInput; key: string };

/** A machine whose API calls answer from `answers` in turn (an Error is thrown). */
function start(answers: (PlacedOrder | Error)[], cartAnswer: Cart = cart, input: CheckoutInput = undefined) {
  const calls: PlaceCall[] = [];
  let cartLoads = 0;
  const placedSpy = vi.fn();
  const machine = checkoutMachine.provide({
    actors: {
      fetchCart: fromPromise(async () => {
        cartLoads++;
        return cartAnswer;
      }),
      placeOrder: fromPromise(async ({ input }: { input: PlaceCall }) => {
        calls.push(input);
        const next = answers.shift();
        if (!next) throw new Error("no more answers");
        if (next instanceof Error) throw next;
        return next;
      }),
    },
    actions: { orderPlaced: placedSpy },
    delays: { keyInUseDelay: 5 },
  });
  const actor = createActor(machine, { input }).start();
  return { actor, calls, placedSpy, cartLoads: () => cartLoads };
}

async function toReview(actor: ReturnType<typeof start>["actor"], card = "pm_card_visa") {
  actor.send({ type: "SUBMIT_SHIPPING", address });
  actor.send({ type: "SELECT_PAYMENT", paymentMethodId: card });
  actor.send({ type: "NEXT" });
  await waitFor(actor, (s) => s.matches({ review: "ready" }));
}

const apiError = (status: number, code: string, extra: Record<string, unknown> = {}) =>
  new ApiError(status, { status, code, detail: `${code} detail`, ...extra });

afterEach(() => vi.unstubAllGlobals());

describe("checkout machine", () => {
  it("walks shipping → payment → review → placing → confirmation", async () => {
    const { actor, calls, placedSpy } = start([placed]);
    expect(actor.getSnapshot().value).toBe("shipping");

    actor.send({ type: "SUBMIT_SHIPPING", address: { ...address, country: "USA" } });
    expect(actor.getSnapshot().value).toBe("shipping"); // invalid: stays

    actor.send({ type: "SUBMIT_SHIPPING", address });
    expect(actor.getSnapshot().value).toBe("payment");
    actor.send({ type: "NEXT" });
    expect(actor.getSnapshot().value).toBe("payment"); // no card chosen yet

    actor.send({ type: "SELECT_PAYMENT", paymentMethodId: "pm_card_visa" });
    actor.send({ type: "NEXT" });
    expect(actor.getSnapshot().matches("review")).toBe(true);
    await waitFor(actor, (s) => s.matches({ review: "ready" }));
    expect(actor.getSnapshot().context.cart).toEqual(cart);

    actor.send({ type: "PLACE" });
    expect(actor.getSnapshot().value).toBe("placing");
    const done = await waitFor(actor, (s) => s.status === "done");
    expect(done.value).toBe("confirmation");
    expect(done.context.order).toEqual(placed);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toEqual({ shippingAddress: address, paymentMethodId: "pm_card_visa" });
    expect(calls[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(placedSpy).toHaveBeenCalledTimes(1);
    expect(stepOf(done.value)).toBe("confirmation");
  });

  it("goes Back from review to payment to shipping, keeping what was entered", async () => {
    const { actor, cartLoads } = start([]);
    await toReview(actor);
    actor.send({ type: "BACK" });
    expect(actor.getSnapshot().value).toBe("payment");
    expect(actor.getSnapshot().context.paymentMethodId).toBe("pm_card_visa");
    actor.send({ type: "BACK" });
    expect(actor.getSnapshot().value).toBe("shipping");
    expect(actor.getSnapshot().context.address).toEqual(address);
    // and forward again: review reloads the cart totals
    actor.send({ type: "SUBMIT_SHIPPING", address });
    actor.send({ type: "NEXT" });
    await waitFor(actor, (s) => s.matches({ review: "ready" }));
    expect(cartLoads()).toBe(2);
  });

  it("ignores a second Place while placing (one request)", async () => {
    const { actor, calls } = start([placed, placed]);
    await toReview(actor);
    actor.send({ type: "PLACE" });
    actor.send({ type: "PLACE" });
    await waitFor(actor, (s) => s.status === "done");
    expect(calls).toHaveLength(1);
  });

  it("does not place an order for an empty cart", async () => {
    const { actor, calls } = start([placed], { items: [], subtotal: usd(0), itemCount: 0 });
    await toReview(actor);
    actor.send({ type: "PLACE" });
    expect(actor.getSnapshot().matches({ review: "ready" })).toBe(true);
    expect(calls).toHaveLength(0);
  });

  it("retries after a network error or 5xx with the SAME Idempotency-Key", async () => {
    const { actor, calls } = start([apiError(0, "NETWORK_ERROR"), apiError(503, "SERVICE_UNAVAILABLE"), placed]);
    await toReview(actor);
    actor.send({ type: "PLACE" });
    let s = await waitFor(actor, (x) => x.matches("failed"));
    expect(s.context.error).toMatchObject({ code: "NETWORK_ERROR", retryable: true });
    const key = s.context.idempotencyKey;
    expect(key).toBeTruthy();

    actor.send({ type: "RETRY" });
    s = await waitFor(actor, (x) => x.matches("failed"));
    expect(s.context.error?.code).toBe("SERVICE_UNAVAILABLE");

    actor.send({ type: "RETRY" });
    s = await waitFor(actor, (x) => x.status === "done");
    expect(calls.map((c) => c.key)).toEqual([key, key, key]);
    expect(s.context.order?.orderId).toBe(placed.orderId);
  });

  it("keeps the key when going back to review and placing the same order again", async () => {
    const { actor, calls } = start([apiError(0, "NETWORK_ERROR"), placed]);
    await toReview(actor);
    actor.send({ type: "PLACE" });
    await waitFor(actor, (x) => x.matches("failed"));
    actor.send({ type: "BACK" });
    await waitFor(actor, (s) => s.matches({ review: "ready" }));
    actor.send({ type: "PLACE" });
    await waitFor(actor, (s) => s.status === "done");
    expect(calls[0]?.key).toBe(calls[1]?.key);
  });

  it("waits and asks again with the same key on 409 IDEMPOTENCY_KEY_IN_USE", async () => {
    const { actor, calls } = start([apiError(409, "IDEMPOTENCY_KEY_IN_USE"), apiError(409, "IDEMPOTENCY_KEY_IN_USE"), placed]);
    await toReview(actor);
    actor.send({ type: "PLACE" });
    await waitFor(actor, (s) => s.matches("waitingToRetry"));
    const s = await waitFor(actor, (x) => x.status === "done");
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.key)).size).toBe(1);
    expect(s.context.order).toEqual(placed);
  });

  it("on 402 PAYMENT_FAILED shows the decline, goes back to payment, and a new card gets a new key", async () => {
    const { actor, calls } = start([apiError(402, "PAYMENT_FAILED", { declineCode: "generic_decline" }), placed]);
    await toReview(actor, "pm_card_chargeDeclined");
    actor.send({ type: "PLACE" });
    let s = await waitFor(actor, (x) => x.matches("paymentDeclined"));
    expect(s.context.error).toMatchObject({ status: 402, code: "PAYMENT_FAILED", message: "PAYMENT_FAILED detail" });
    expect(stepOf(s.value)).toBe("payment");
    actor.send({ type: "RETRY" });
    expect(actor.getSnapshot().matches("paymentDeclined")).toBe(true); // no blind retry of a decline

    actor.send({ type: "CHANGE_PAYMENT" });
    expect(actor.getSnapshot().value).toBe("payment");
    expect(actor.getSnapshot().context.error).toBeNull();
    actor.send({ type: "SELECT_PAYMENT", paymentMethodId: "pm_card_visa" });
    actor.send({ type: "NEXT" });
    await waitFor(actor, (x) => x.matches({ review: "ready" }));
    actor.send({ type: "PLACE" });
    s = await waitFor(actor, (x) => x.status === "done");
    expect(calls).toHaveLength(2);
    expect(calls[1]?.body.paymentMethodId).toBe("pm_card_visa");
    expect(calls[1]?.key).not.toBe(calls[0]?.key);
  });

  it("a final refusal (409 RESERVATION_EXPIRED) cannot be retried blindly; Back reloads the review", async () => {
    const { actor, calls, cartLoads } = start([apiError(409, "RESERVATION_EXPIRED", { productIds: ["P0000001"] }), placed]);
    await toReview(actor);
    actor.send({ type: "PLACE" });
    const s = await waitFor(actor, (x) => x.matches("failed"));
    expect(s.context.error).toMatchObject({ code: "RESERVATION_EXPIRED", retryable: false });
    expect(s.context.idempotencyKey).toBeNull();
    actor.send({ type: "RETRY" });
    expect(actor.getSnapshot().matches("failed")).toBe(true);
    actor.send({ type: "BACK" });
    await waitFor(actor, (x) => x.matches({ review: "ready" }));
    expect(cartLoads()).toBe(2);
    actor.send({ type: "PLACE" });
    await waitFor(actor, (x) => x.status === "done");
    expect(calls[1]?.key).not.toBe(calls[0]?.key); // a new attempt
  });

  it("a new shipping address (a different body) gets a new key", async () => {
    const { actor, calls } = start([apiError(0, "NETWORK_ERROR"), placed]);
    await toReview(actor);
    actor.send({ type: "PLACE" });
    await waitFor(actor, (x) => x.matches("failed"));
    actor.send({ type: "BACK" });
    await waitFor(actor, (x) => x.matches({ review: "ready" }));
    actor.send({ type: "BACK" });
    actor.send({ type: "BACK" });
    actor.send({ type: "SUBMIT_SHIPPING", address: { ...address, line2: "Apt 4" } });
    actor.send({ type: "NEXT" });
    await waitFor(actor, (x) => x.matches({ review: "ready" }));
    actor.send({ type: "PLACE" });
    await waitFor(actor, (x) => x.status === "done");
    expect(calls[1]?.key).not.toBe(calls[0]?.key);
  });
});

describe("checkout machine with the real API calls", () => {
  beforeEach(() => setTokenSource(() => "tok"));

  it("sends POST /orders with the Idempotency-Key header and the body", async () => {
    const { calls } = mockFetch((call) => (call.method === "GET" ? json(200, cart) : json(201, placed)));
    const actor = createActor(checkoutMachine, { input: undefined }).start();
    await toReview(actor);
    actor.send({ type: "PLACE" });
    const s = await waitFor(actor, (x) => x.status === "done");
    const post = calls.find((c) => c.method === "POST");
    expect(post).toMatchObject({
      url: "http://api.test/orders",
      headers: { "idempotency-key": s.context.idempotencyKey, authorization: "Bearer tok" },
      body: { shippingAddress: address, paymentMethodId: "pm_card_visa" },
    });
  });

  it("turns a problem+json 402 into the decline message", async () => {
    mockFetch((call) =>
      call.method === "GET" ? json(200, cart) : problem(402, "PAYMENT_FAILED", "Your card was declined.", { declineCode: "card_declined" }),
    );
    const actor = createActor(checkoutMachine, { input: undefined }).start();
    await toReview(actor, "pm_card_chargeDeclined");
    actor.send({ type: "PLACE" });
    const s = await waitFor(actor, (x) => x.matches("paymentDeclined"));
    expect(s.context.error?.message).toBe("Your card was declined.");
  });
});

describe("resuming after a reload", () => {
  const progress = { address, paymentMethodId: "pm_card_visa", idempotencyKey: null, keyFor: null, order: null };

  it("goes back to the step it was at, as far as what was entered allows", async () => {
    expect(start([], cart, { ...progress, step: "payment" }).actor.getSnapshot().value).toBe("payment");
    const review = start([], cart, { ...progress, step: "review" }).actor;
    await waitFor(review, (s) => s.matches({ review: "ready" }));
    expect(start([], cart, { ...progress, address: null, step: "review" }).actor.getSnapshot().value).toBe("shipping");
    expect(start([], cart, { ...progress, paymentMethodId: null, step: "review" }).actor.getSnapshot().value).toBe("payment");
    expect(start([], cart, { ...progress, order: placed, step: "confirmation" }).actor.getSnapshot().value).toBe("confirmation");
    expect(start([], cart).actor.getSnapshot().value).toBe("shipping");
  });

  it("asks again with the same key for an attempt whose answer the reload lost", async () => {
    // The first tab: placing, when the page reloads (the answer never arrives).
    const first = start([new Error("never answered")]);
    await toReview(first.actor);
    first.actor.send({ type: "PLACE" });
    const storage = memoryStorage();
    saveProgress("alice", progressOf(first.actor.getSnapshot().value, first.actor.getSnapshot().context), storage);
    const key = first.calls[0]?.key;

    const again = start([placed], cart, loadProgress("alice", storage));
    expect(again.actor.getSnapshot().value).toBe("failed");
    expect(again.actor.getSnapshot().context.error).toEqual(UNCONFIRMED);
    again.actor.send({ type: "RETRY" });
    await waitFor(again.actor, (s) => s.matches("confirmation"));
    expect(again.calls.map((c) => c.key)).toEqual([key]);
  });

  it("reads nothing from a missing or damaged entry", () => {
    const storage = memoryStorage();
    expect(loadProgress("alice", storage)).toBeUndefined();
    storage.setItem("shop.checkout.alice", "{not json");
    expect(loadProgress("alice", storage)).toBeUndefined();
    const now = Date.now();
    storage.setItem("shop.checkout.alice", JSON.stringify({ step: "teleport", savedAt: now }));
    expect(loadProgress("alice", storage)).toBeUndefined();
    storage.setItem("shop.checkout.alice", JSON.stringify({ step: "review", address: { name: "" }, paymentMethodId: 7, savedAt: now }));
    expect(loadProgress("alice", storage)).toMatchObject({ step: "review", address: null, paymentMethodId: null });
  });

  it("does not resume progress left longer ago than a reload takes", () => {
    const storage = memoryStorage();
    saveProgress("alice", { ...progress, step: "payment" }, storage);
    expect(loadProgress("alice", storage)).toMatchObject({ step: "payment" });
    expect(loadProgress("alice", storage, Date.now() + PROGRESS_KEPT_MS + 1)).toBeUndefined();
    expect(loadProgress("bob", storage)).toBeUndefined();
  });
});

describe("address validation", () => {
  it("requires the fields and a 2-letter country, uppercasing it", () => {
    const bad = validateAddress({ name: " ", line1: "", line2: "", city: "X", postalCode: "1", country: "usa" });
    expect(bad.address).toBeNull();
    expect(Object.keys(bad.errors).sort()).toEqual(["country", "line1", "name"]);
    const good = validateAddress({ name: "A", line1: "B", line2: "", city: "C", postalCode: "1", country: "de" });
    expect(good.address).toEqual({ name: "A", line1: "B", city: "C", postalCode: "1", country: "DE" });
  });
});
