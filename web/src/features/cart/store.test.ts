import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setTokenSource } from "../../api/client";
import { currentToken, useAuth } from "../auth/store";
import { useStock } from "../live/stock";
import { memoryStorage } from "../../lib/storage";
import { deferred, json, mockFetch, problem, type Reply } from "../../test/http";
import { cartSubtotal, createCartStore, lineExpired } from "./store";

const usd = (amount: number) => ({ amount, currency: "USD" });
const widget = { productId: "P0000001", title: "Widget", price: usd(1999) };
const gadget = { productId: "P0000002", title: "Gadget", price: usd(500) };
const future = () => new Date(Date.now() + 30 * 60_000).toISOString();

function serverLine(productId: string, title: string, quantity: number, unit = 1999) {
  return {
    productId,
    title,
    quantity,
    unitPrice: usd(unit),
    lineTotal: usd(unit * quantity),
    reservedUntil: future(),
    reserved: true,
  };
}

beforeEach(() => {
  useAuth.getState().signIn({ token: "tok-alice", user: "alice", admin: false, expiresAt: null, mode: "dev" });
  setTokenSource(currentToken);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("cart store: add", () => {
  it("shows the line at once, then takes the server's line", async () => {
    const reply = deferred<Reply>();
    const { calls } = mockFetch(() => reply.promise);
    const cart = createCartStore(memoryStorage);

    const done = cart.getState().add(widget, 2);
    // Optimistic: before the API answers.
    expect(cart.getState().lines).toEqual([
      expect.objectContaining({ productId: "P0000001", quantity: 2, pending: true, reservedUntil: null }),
    ]);
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "http://api.test/cart/items",
      body: { productId: "P0000001", quantity: 2 },
      headers: { authorization: "Bearer tok-alice" },
    });

    reply.resolve(json(201, serverLine("P0000001", "Widget", 2)));
    await expect(done).resolves.toBe(true);
    const [line] = cart.getState().lines;
    expect(line).toMatchObject({ quantity: 2, pending: false, reserved: true });
    expect(line?.reservedUntil).toMatch(/^\d{4}-/);
    expect(cart.getState().error).toBeNull();
  });

  it("rolls a new line back on 409 INSUFFICIENT_INVENTORY and says how many are left", async () => {
    const reply = deferred<Reply>();
    mockFetch(() => reply.promise);
    const cart = createCartStore(memoryStorage);

    const done = cart.getState().add(widget, 5);
    expect(cart.getState().lines).toHaveLength(1);
    reply.resolve(
      problem(409, "INSUFFICIENT_INVENTORY", "only 3 of P0000001 can be reserved", { available: 3, requested: 5 }),
    );
    await expect(done).resolves.toBe(false);

    expect(cart.getState().lines).toEqual([]);
    expect(cart.getState().error).toMatchObject({ productId: "P0000001", code: "INSUFFICIENT_INVENTORY" });
    expect(cart.getState().error?.message).toContain("Only 3 left");
    // The 409's figure is the shop's latest word on the product's stock.
    expect(useStock.getState().byId.P0000001).toMatchObject({ available: 3, inStock: true });
  });

  it("says how long a hold that reached its cap keeps the product away (409 HOLD_LIMIT_REACHED)", async () => {
    mockFetch(() =>
      problem(409, "HOLD_LIMIT_REACHED", "held too long", {
        maxHoldMinutes: 60,
        retryAfter: "2026-12-02T15:45:00.000Z",
      }),
    );
    const cart = createCartStore(memoryStorage);

    await expect(cart.getState().add(widget, 1)).resolves.toBe(false);

    expect(cart.getState().lines).toEqual([]);
    expect(cart.getState().error).toMatchObject({ productId: "P0000001", code: "HOLD_LIMIT_REACHED" });
    expect(cart.getState().error?.message).toContain("longest time one shopper may (60 minutes)");
    expect(cart.getState().error?.message).toContain("on sale to others until");
  });

  it("rolls an addition to an existing line back to the old quantity", async () => {
    let n = 0;
    mockFetch(() =>
      n++ === 0
        ? json(201, serverLine("P0000001", "Widget", 1))
        : problem(409, "INSUFFICIENT_INVENTORY", "short", { available: 0, requested: 4 }),
    );
    const cart = createCartStore(memoryStorage);
    await cart.getState().add(widget, 1);
    const adding = cart.getState().add(widget, 4);
    expect(cart.getState().lines[0]?.quantity).toBe(5);
    await adding;
    expect(cart.getState().lines).toEqual([expect.objectContaining({ productId: "P0000001", quantity: 1, pending: false })]);
    expect(cart.getState().error?.message).toMatch(/sold out/);
  });

  it("refuses more than 10 on a line without calling the API", async () => {
    const { calls } = mockFetch(() => json(201, serverLine("P0000001", "Widget", 8)));
    const cart = createCartStore(memoryStorage);
    await cart.getState().add(widget, 8);
    await expect(cart.getState().add(widget, 3)).resolves.toBe(false);
    expect(calls).toHaveLength(1);
    expect(cart.getState().lines[0]?.quantity).toBe(8);
    expect(cart.getState().error?.code).toBe("LINE_QUANTITY_LIMIT");
  });

  it("shows the problem's detail for other refusals", async () => {
    mockFetch(() => problem(503, "SERVICE_UNAVAILABLE", "the stock table is busy; retry shortly"));
    const cart = createCartStore(memoryStorage);
    await cart.getState().add(gadget, 1);
    expect(cart.getState().lines).toEqual([]);
    expect(cart.getState().error?.message).toBe("the stock table is busy; retry shortly");
  });
});

describe("cart store: quantity and remove", () => {
  it("changes the quantity optimistically and rolls it back on 409", async () => {
    const patch = deferred<Reply>();
    const { calls } = mockFetch((call) =>
      call.method === "POST" ? json(201, serverLine("P0000001", "Widget", 2)) : patch.promise,
    );
    const cart = createCartStore(memoryStorage);
    await cart.getState().add(widget, 2);

    const changing = cart.getState().setQuantity("P0000001", 6);
    expect(cart.getState().lines[0]).toMatchObject({ quantity: 6, pending: true });
    expect(calls[1]).toMatchObject({ method: "PATCH", url: "http://api.test/cart/items/P0000001", body: { quantity: 6 } });

    patch.resolve(problem(409, "INSUFFICIENT_INVENTORY", "short", { available: 1, requested: 4 }));
    await expect(changing).resolves.toBe(false);
    expect(cart.getState().lines[0]).toMatchObject({ quantity: 2, pending: false });
    expect(cart.getState().error?.message).toContain("Only 1 more left");
  });

  it("keeps the server's line after a successful change", async () => {
    mockFetch((call) =>
      call.method === "POST" ? json(201, serverLine("P0000001", "Widget", 2)) : json(200, serverLine("P0000001", "Widget", 3)),
    );
    const cart = createCartStore(memoryStorage);
    await cart.getState().add(widget, 2);
    await expect(cart.getState().setQuantity("P0000001", 3)).resolves.toBe(true);
    expect(cart.getState().lines[0]).toMatchObject({ quantity: 3, pending: false });
  });

  it("removes at once and puts the line back where it was if DELETE fails", async () => {
    const del = deferred<Reply>();
    let posts = 0;
    mockFetch((call) => {
      if (call.method === "POST") return posts++ === 0 ? json(201, serverLine("P0000001", "Widget", 1)) : json(201, serverLine("P0000002", "Gadget", 1, 500));
      return del.promise;
    });
    const cart = createCartStore(memoryStorage);
    await cart.getState().add(widget, 1);
    await cart.getState().add(gadget, 1);

    const removing = cart.getState().remove("P0000001");
    expect(cart.getState().lines.map((l) => l.productId)).toEqual(["P0000002"]);
    del.resolve(problem(503, "SERVICE_UNAVAILABLE", "try again"));
    await expect(removing).resolves.toBe(false);
    expect(cart.getState().lines.map((l) => l.productId)).toEqual(["P0000001", "P0000002"]);
    expect(cart.getState().error?.message).toContain("try again");
  });

  it("treats 204 as removed", async () => {
    mockFetch((call) => (call.method === "POST" ? json(201, serverLine("P0000001", "Widget", 1)) : json(204)));
    const cart = createCartStore(memoryStorage);
    await cart.getState().add(widget, 1);
    await expect(cart.getState().remove("P0000001")).resolves.toBe(true);
    expect(cart.getState().lines).toEqual([]);
  });
});

describe("cart store: persistence and reconcile", () => {
  it("survives a reload through storage and is reconciled with GET /cart", async () => {
    const storage = memoryStorage();
    mockFetch(() => json(201, serverLine("P0000001", "Widget", 2)));
    const first = createCartStore(() => storage);
    await first.getState().add(widget, 2);
    expect(JSON.parse(storage.getItem("shop.cart") as string).state.lines).toHaveLength(1);

    // "Reload": a new store on the same storage has the line before any request.
    const second = createCartStore(() => storage);
    expect(second.getState().lines).toEqual([expect.objectContaining({ productId: "P0000001", quantity: 2 })]);
    expect(second.getState().owner).toBe("alice");

    // The server is the truth: another tab changed the quantity and added a line.
    const { calls } = mockFetch(() =>
      json(200, {
        items: [serverLine("P0000001", "Widget", 3), serverLine("P0000002", "Gadget", 1, 500)],
        subtotal: usd(1999 * 3 + 500),
        itemCount: 4,
      }),
    );
    await second.getState().reconcile();
    expect(calls[0]).toMatchObject({ method: "GET", url: "http://api.test/cart" });
    expect(second.getState().lines.map((l) => [l.productId, l.quantity])).toEqual([
      ["P0000001", 3],
      ["P0000002", 1],
    ]);
    expect(cartSubtotal(second.getState().lines)).toEqual(usd(1999 * 3 + 500));
  });

  it("drops lines the server no longer has, and another user's lines", async () => {
    const storage = memoryStorage();
    storage.setItem(
      "shop.cart",
      JSON.stringify({ state: { owner: "bob", lines: [{ ...serverLine("P0000009", "Old", 1), pending: false }] }, version: 1 }),
    );
    const cart = createCartStore(() => storage);
    expect(cart.getState().lines).toHaveLength(1);
    mockFetch(() => json(200, { items: [], subtotal: usd(0), itemCount: 0 }));
    await cart.getState().reconcile();
    expect(cart.getState().lines).toEqual([]);
    expect(cart.getState().owner).toBe("alice");
  });

  it("does not let a GET /cart answer overwrite an add still in flight", async () => {
    const add = deferred<Reply>();
    mockFetch((call) => (call.method === "POST" ? add.promise : json(200, { items: [], subtotal: usd(0), itemCount: 0 })));
    const cart = createCartStore(memoryStorage);
    const adding = cart.getState().add(widget, 1);
    await cart.getState().reconcile();
    expect(cart.getState().lines).toEqual([expect.objectContaining({ productId: "P0000001", pending: true })]);
    add.resolve(json(201, serverLine("P0000001", "Widget", 1)));
    await adding;
    expect(cart.getState().lines).toEqual([expect.objectContaining({ productId: "P0000001", pending: false })]);
  });

  it("marks expired reservations and leaves them out of the subtotal", () => {
    const past = new Date(Date.now() - 1000).toISOString();
    const lines = [
      { ...serverLine("P0000001", "Widget", 1), pending: false },
      { ...serverLine("P0000002", "Gadget", 1, 500), reservedUntil: past, pending: false },
    ];
    expect(lineExpired(lines[1]!)).toBe(true);
    expect(cartSubtotal(lines)).toEqual(usd(1999));
  });
});
