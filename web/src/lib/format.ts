import type { Money } from "../api/types";

const formatters = new Map<string, Intl.NumberFormat>();

/** Money is minor units; formatted for the reader's locale in the money's currency. */
export function formatMoney(money: Money | null | undefined): string {
  if (!money) return "";
  let f = formatters.get(money.currency);
  if (!f) {
    f = new Intl.NumberFormat(undefined, { style: "currency", currency: money.currency });
    formatters.set(money.currency, f);
  }
  return f.format(money.amount / 100);
}

export function multiply(money: Money, quantity: number): Money {
  return { amount: money.amount * quantity, currency: money.currency };
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

/** A calendar date (`2024-05-01`) shown as such, without a time-zone shift. */
export function formatDate(isoDate: string): string {
  const d = new Date(isoDate.length === 10 ? `${isoDate}T00:00:00Z` : isoDate);
  return Number.isNaN(d.getTime()) ? isoDate : dateOnly.format(d);
}

/** `m:ss` for a countdown. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

export function pluralize(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
