import { useEffect } from "react";
import { useStock } from "./stock";

/** Products one connection may watch (the server's limit). */
export const MAX_SUBSCRIPTIONS = 100;
/** Orders one connection may watch (the server's limit). */
export const MAX_ORDER_SUBSCRIPTIONS = 10;

export type StockMessage = { type: "stock"; productId: string; available: number; inStock: boolean };
/** An order changed: the page reads it again, signed in (the socket says nothing more). */
export type OrderMessage = { type: "order"; orderId: string };

/** A server message, or null for anything else (not JSON, another type, fields missing). */
export function parseMessage(data: unknown): StockMessage | OrderMessage | null {
  if (typeof data !== "string") return null;
  let m: Partial<StockMessage> & Partial<OrderMessage>;
  try {
    m = JSON.parse(data);
  } catch {
    return null;
  }
  if (m?.type === "stock" && typeof m.productId === "string" && typeof m.available === "number") {
    return { type: "stock", productId: m.productId, available: m.available, inStock: m.inStock ?? m.available > 0 };
  }
  if (m?.type === "order" && typeof m.orderId === "string") return { type: "order", orderId: m.orderId };
  return null;
}

/**
 * Live updates over a WebSocket: subscribes to the products on screen and in the
 * cart, and to the orders on screen (re-sent whenever that set changes; the server
 * replaces the set), and reconnects with capped exponential backoff when the socket
 * closes. After a reconnect, every watched order counts as changed (a change may
 * have been missed while it was closed).
 */
export class LiveClient {
  private url: string | null = null;
  private ws: WebSocket | null = null;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private sendTimer: ReturnType<typeof setTimeout> | null = null;
  private watched = new Map<string, number>();
  private orders = new Map<string, number>();
  private opened = false;
  private cartIds: string[] = [];
  private lastSent = "";
  private stopped = true;
  onStock: (message: StockMessage) => void = (m) => useStock.getState().put(m.productId, m.available, m.inStock);
  onOrder: (message: OrderMessage) => void = () => {};

  start(url: string | null): void {
    if (!url || typeof WebSocket === "undefined") return;
    this.url = url;
    this.stopped = false;
    this.connect();
    if (typeof window !== "undefined") {
      window.addEventListener("online", this.wake);
      document.addEventListener("visibilitychange", this.wake);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.ws?.close();
    this.ws = null;
    useStock.getState().setStatus("off");
  }

  /** Adds products on screen; returns the function that removes them again. */
  watch(ids: readonly string[]): () => void {
    return this.count(this.watched, ids);
  }

  /** Adds an order on screen; returns the function that removes it again. */
  watchOrder(orderId: string): () => void {
    return this.count(this.orders, [orderId]);
  }

  private count(counts: Map<string, number>, ids: readonly string[]): () => void {
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    this.scheduleSend();
    return () => {
      for (const id of ids) {
        const n = (counts.get(id) ?? 1) - 1;
        if (n <= 0) counts.delete(id);
        else counts.set(id, n);
      }
      this.scheduleSend();
    };
  }

  setCartIds(ids: readonly string[]): void {
    this.cartIds = [...ids];
    this.scheduleSend();
  }

  /** Cart products first (they matter most), then what is on screen, at most the server's limit. */
  desired(): string[] {
    const set = new Set<string>(this.cartIds);
    for (const id of this.watched.keys()) set.add(id);
    return Array.from(set).slice(0, MAX_SUBSCRIPTIONS);
  }

  private wake = () => {
    if (this.stopped) return;
    if (typeof document !== "undefined" && document.visibilityState === "hidden") return;
    if (!this.ws || this.ws.readyState === WebSocket.CLOSED) {
      this.attempts = 0;
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.connect();
    }
  };

  private connect(): void {
    if (!this.url || this.stopped) return;
    this.reconnectTimer = null;
    useStock.getState().setStatus(this.attempts === 0 ? "connecting" : "reconnecting");
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.lastSent = "";
      useStock.getState().setStatus("open");
      this.send();
      if (this.opened) for (const orderId of this.orders.keys()) this.onOrder({ type: "order", orderId });
      this.opened = true;
    };
    ws.onmessage = (event) => {
      const m = parseMessage(event.data);
      if (m?.type === "stock") this.onStock(m);
      else if (m?.type === "order") this.onOrder(m);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      // a close event follows
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    useStock.getState().setStatus("reconnecting");
    const base = Math.min(30_000, 500 * 2 ** this.attempts);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempts += 1;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private scheduleSend(): void {
    if (this.sendTimer) return;
    this.sendTimer = setTimeout(() => {
      this.sendTimer = null;
      this.send();
    }, 50);
  }

  private send(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const ids = this.desired().sort();
    const orderIds = Array.from(this.orders.keys()).sort().slice(0, MAX_ORDER_SUBSCRIPTIONS);
    const key = orderIds.length ? `${ids.join(",")};${orderIds.join(",")}` : ids.join(",");
    if (key === this.lastSent) return;
    this.lastSent = key;
    ws.send(JSON.stringify(orderIds.length ? { action: "subscribe", productIds: ids, orderIds } : { action: "subscribe", productIds: ids }));
  }
}

export const live = new LiveClient();

/** Watches this order while the component is mounted. */
export function useLiveOrder(orderId: string): void {
  useEffect(() => live.watchOrder(orderId), [orderId]);
}

/** Watches these products while the component is mounted. */
export function useLiveWatch(ids: readonly string[]): void {
  const key = ids.join(",");
  useEffect(() => {
    if (!key) return;
    return live.watch(key.split(","));
  }, [key]);
}
