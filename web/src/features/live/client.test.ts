import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveClient, MAX_SUBSCRIPTIONS, parseMessage } from "./client";
import { availabilityLabel, useStock } from "./stock";

class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static all: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.();
  }
  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  vi.stubGlobal("WebSocket", FakeSocket);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("live stock client", () => {
  it("subscribes to cart and on-screen products, re-sending when the set changes", () => {
    const live = new LiveClient();
    live.setCartIds(["P0000003"]);
    live.start("ws://live.test/live");
    const ws = FakeSocket.all[0]!;
    expect(ws.url).toBe("ws://live.test/live");
    ws.open();
    expect(ws.sent).toEqual([{ action: "subscribe", productIds: ["P0000003"] }]);

    const unwatch = live.watch(["P0000001", "P0000002"]);
    vi.advanceTimersByTime(60);
    expect(ws.sent.at(-1)).toEqual({ action: "subscribe", productIds: ["P0000001", "P0000002", "P0000003"] });

    live.watch(["P0000001"]); // already in the set: nothing new to send
    vi.advanceTimersByTime(60);
    expect(ws.sent).toHaveLength(2);

    unwatch();
    vi.advanceTimersByTime(60);
    expect(ws.sent.at(-1)).toEqual({ action: "subscribe", productIds: ["P0000001", "P0000003"] });
    live.stop();
  });

  it("caps the subscription at the server's limit, cart first", () => {
    const live = new LiveClient();
    live.setCartIds(["CART1"]);
    live.watch(Array.from({ length: 150 }, (_, i) => `P${i}`));
    const ids = live.desired();
    expect(ids).toHaveLength(MAX_SUBSCRIPTIONS);
    expect(ids[0]).toBe("CART1");
  });

  it("reconnects with backoff and subscribes again", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999); // the longest jittered delay: 0.5 s, then 1 s
    const live = new LiveClient();
    live.watch(["P0000001"]);
    live.start("ws://live.test/live");
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.close();
    expect(useStock.getState().status).toBe("reconnecting");
    vi.advanceTimersByTime(600);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1]!.close(); // refused again: waits longer
    vi.advanceTimersByTime(600);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.all[2]!.open();
    expect(useStock.getState().status).toBe("open");
    expect(FakeSocket.all[2]!.sent).toEqual([{ action: "subscribe", productIds: ["P0000001"] }]);
    live.stop();
  });

  it("records pushed stock", () => {
    const live = new LiveClient();
    live.start("ws://live.test/live");
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.onmessage?.({ data: JSON.stringify({ type: "stock", productId: "P0000009", available: 3, inStock: true }) });
    ws.onmessage?.({ data: "not json" });
    expect(useStock.getState().byId.P0000009).toMatchObject({ available: 3, inStock: true });
    expect(availabilityLabel(useStock.getState().byId.P0000009)).toBe("Only 3 left");
    expect(availabilityLabel({ available: 0, inStock: false })).toBe("Out of stock");
    expect(availabilityLabel({ available: 6, inStock: true })).toBe("In stock");
    expect(parseMessage(JSON.stringify({ type: "other" }))).toBeNull();
    live.stop();
  });

  it("watches orders on screen, hears that they changed, and counts them changed after a reconnect", () => {
    const live = new LiveClient();
    const changed: string[] = [];
    live.onOrder = (m) => changed.push(m.orderId);
    live.watch(["P0000001"]);
    const unwatch = live.watchOrder("ord_A");
    live.start("ws://live.test/live");
    const ws = FakeSocket.all[0]!;
    ws.open();
    expect(ws.sent).toEqual([{ action: "subscribe", productIds: ["P0000001"], orderIds: ["ord_A"] }]);
    expect(changed).toEqual([]);

    ws.onmessage?.({ data: JSON.stringify({ type: "order", orderId: "ord_A" }) });
    expect(changed).toEqual(["ord_A"]);
    expect(parseMessage(JSON.stringify({ type: "order" }))).toBeNull();

    ws.close();
    vi.advanceTimersByTime(30_000);
    FakeSocket.all[1]!.open();
    expect(changed).toEqual(["ord_A", "ord_A"]);

    unwatch();
    vi.advanceTimersByTime(60);
    expect(FakeSocket.all[1]!.sent.at(-1)).toEqual({ action: "subscribe", productIds: ["P0000001"] });
    live.stop();
  });
});
