import { assign, fromPromise, setup } from "xstate";
import { ApiError, errorMessage } from "../../api/client";
import * as api from "../../api/endpoints";
import type { Cart, PlacedOrder, PlaceOrderInput, ShippingAddress } from "../../api/types";
import { isValidAddress } from "./address";

export const TEST_CARDS = [
  { id: "pm_card_visa", label: "Visa ending 4242", note: "succeeds" },
  { id: "pm_card_chargeDeclined", label: "Card that is declined", note: "declined" },
  { id: "pm_card_chargeDeclinedInsufficientFunds", label: "Card with insufficient funds", note: "declined" },
] as const;

/** How long to wait before asking again when the API says the key's first request is still running. */
export const KEY_IN_USE_RETRY_MS = 1000;
export const KEY_IN_USE_MAX_RETRIES = 10;

export type CheckoutError = {
  status: number;
  code: string;
  message: string;
  /** True when Retry (with the same Idempotency-Key) makes sense. */
  retryable: boolean;
};

export type CheckoutContext = {
  address: ShippingAddress | null;
  paymentMethodId: string | null;
  /** One per checkout attempt; kept across retries of the same request. */
  idempotencyKey: string | null;
  /** The request body the key was made for: another body gets another key. */
  keyFor: string | null;
  cart: Cart | null;
  order: PlacedOrder | null;
  error: CheckoutError | null;
  inUseRetries: number;
  /** The step a reload left off at (looked at once, when the checkout starts). */
  resumeAt: Step;
};

export type CheckoutEvent =
  | { type: "SUBMIT_SHIPPING"; address: ShippingAddress }
  | { type: "SELECT_PAYMENT"; paymentMethodId: string }
  | { type: "NEXT" }
  | { type: "BACK" }
  | { type: "PLACE" }
  | { type: "RETRY" }
  | { type: "CHANGE_PAYMENT" };

/**
 * Where a checkout stands, as kept across a page reload: the step, what was entered, the
 * attempt's Idempotency-Key (so placing again after a reload replays the first answer) and
 * the placed order.
 */
export type CheckoutProgress = Pick<CheckoutContext, "address" | "paymentMethodId" | "idempotencyKey" | "keyFor" | "order"> & {
  step: Step;
};

/** What of a checkout's state outlives a reload. */
export function progressOf(value: unknown, context: CheckoutContext): CheckoutProgress {
  const { address, paymentMethodId, idempotencyKey, keyFor, order } = context;
  return { step: stepOf(value), address, paymentMethodId, idempotencyKey, keyFor, order };
}

export type CheckoutInput = Partial<CheckoutProgress> | undefined;

/** Canonical JSON (sorted keys), so the same body always maps to the same key. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function orderBody(ctx: Pick<CheckoutContext, "address" | "paymentMethodId">): PlaceOrderInput {
  return { shippingAddress: ctx.address as ShippingAddress, paymentMethodId: ctx.paymentMethodId as string };
}

function toCheckoutError(error: unknown): CheckoutError {
  const status = error instanceof ApiError ? error.status : 0;
  const code = error instanceof ApiError ? error.code : "ERROR";
  // Network failures, 5xx, 408 and 429 may not have reached (or finished at) the
  // API: retry with the same key, which answers with the first outcome if there was one.
  const retryable = status === 0 || status >= 500 || status === 408 || status === 429 || code === "IDEMPOTENCY_KEY_IN_USE";
  return { status, code, message: errorMessage(error), retryable };
}

/** After a reload, an attempt whose answer never arrived: asking again with its key tells. */
export const UNCONFIRMED: CheckoutError = {
  status: 0,
  code: "UNCONFIRMED",
  message: "The page reloaded before your order was confirmed, so it may or may not have been placed.",
  retryable: true,
};

const codeOf = (error: unknown) => (error instanceof ApiError ? error.code : "");

export const checkoutMachine = setup({
  types: {
    context: {} as CheckoutContext,
    events: {} as CheckoutEvent,
    input: {} as CheckoutInput,
  },
  actors: {
    fetchCart: fromPromise<Cart>(({ signal }) => api.getCart(signal)),
    placeOrder: fromPromise<PlacedOrder, { body: PlaceOrderInput; key: string }>(({ input }) =>
      api.placeOrder(input.body, input.key),
    ),
  },
  actions: {
    /** Hook for the page: the order exists (refresh the cart and the order list). */
    orderPlaced: () => {},
    ensureKey: assign(({ context }) => {
      const body = canonicalJson(orderBody(context));
      if (context.idempotencyKey && context.keyFor === body) return {};
      return { idempotencyKey: crypto.randomUUID(), keyFor: body };
    }),
    /** The attempt is over (a final answer was stored for the key): the next one needs a new key. */
    clearKey: assign({ idempotencyKey: null, keyFor: null }),
    recordError: assign({ error: ({ event }) => toCheckoutError((event as { error?: unknown }).error) }),
    clearError: assign({ error: null }),
  },
  guards: {
    validAddress: ({ event }) => event.type === "SUBMIT_SHIPPING" && isValidAddress(event.address),
    hasPayment: ({ context }) => !!context.paymentMethodId,
    cartHasItems: ({ context }) => !!context.cart && context.cart.items.some((i) => i.reserved !== false),
    keyInUse: ({ context, event }) =>
      codeOf((event as { error?: unknown }).error) === "IDEMPOTENCY_KEY_IN_USE" && context.inUseRetries < KEY_IN_USE_MAX_RETRIES,
    paymentFailed: ({ event }) => codeOf((event as { error?: unknown }).error) === "PAYMENT_FAILED",
    finalFailure: ({ event }) => !toCheckoutError((event as { error?: unknown }).error).retryable,
    retryable: ({ context }) => !!context.error?.retryable,
  },
  delays: {
    keyInUseDelay: KEY_IN_USE_RETRY_MS,
  },
}).createMachine({
  id: "checkout",
  initial: "resuming",
  context: ({ input }) => ({
    address: input?.address ?? null,
    paymentMethodId: input?.paymentMethodId ?? null,
    idempotencyKey: input?.idempotencyKey ?? null,
    keyFor: input?.keyFor ?? null,
    cart: null,
    order: input?.order ?? null,
    error: null,
    inUseRetries: 0,
    resumeAt: input?.step ?? "shipping",
  }),
  states: {
    /** Back to the step the input names, as far as what it holds allows; else shipping. */
    resuming: {
      always: [
        { guard: ({ context }) => !!context.order, target: "confirmation" },
        {
          // A key at the review step is an attempt with no final answer (placing, or failed
          // where Retry was offered): retrying with it replays the first outcome.
          guard: ({ context }) =>
            context.resumeAt === "review" && !!context.idempotencyKey && !!context.address && !!context.paymentMethodId,
          target: "failed",
          actions: assign({ error: UNCONFIRMED }),
        },
        {
          guard: ({ context }) => context.resumeAt === "review" && !!context.address && !!context.paymentMethodId,
          target: "review",
        },
        { guard: ({ context }) => context.resumeAt !== "shipping" && !!context.address, target: "payment" },
        { target: "shipping" },
      ],
    },
    shipping: {
      on: {
        SUBMIT_SHIPPING: {
          guard: "validAddress",
          target: "payment",
          actions: assign({ address: ({ event }) => event.address }),
        },
      },
    },
    payment: {
      on: {
        SELECT_PAYMENT: { actions: assign({ paymentMethodId: ({ event }) => event.paymentMethodId }) },
        NEXT: { guard: "hasPayment", target: "review" },
        BACK: "shipping",
      },
    },
    review: {
      initial: "loading",
      on: { BACK: "payment" },
      states: {
        loading: {
          invoke: {
            src: "fetchCart",
            onDone: { target: "ready", actions: [assign({ cart: ({ event }) => event.output }), "clearError"] },
            onError: { target: "failed", actions: "recordError" },
          },
        },
        ready: {
          on: {
            PLACE: { guard: "cartHasItems", target: "#checkout.placing" },
          },
        },
        failed: {
          on: { RETRY: "loading" },
        },
      },
    },
    placing: {
      entry: ["ensureKey", "clearError"],
      invoke: {
        src: "placeOrder",
        input: ({ context }) => ({ body: orderBody(context), key: context.idempotencyKey as string }),
        onDone: {
          target: "confirmation",
          actions: [assign({ order: ({ event }) => event.output, inUseRetries: 0 }), "orderPlaced"],
        },
        onError: [
          { guard: "keyInUse", target: "waitingToRetry" },
          { guard: "paymentFailed", target: "paymentDeclined", actions: ["recordError", "clearKey"] },
          { guard: "finalFailure", target: "failed", actions: ["recordError", "clearKey"] },
          { target: "failed", actions: "recordError" },
        ],
      },
    },
    /** 409 IDEMPOTENCY_KEY_IN_USE: the first request with this key is still running; ask again shortly, same key. */
    waitingToRetry: {
      entry: assign({ inUseRetries: ({ context }) => context.inUseRetries + 1 }),
      after: { keyInUseDelay: "placing" },
    },
    paymentDeclined: {
      on: {
        CHANGE_PAYMENT: { target: "payment", actions: "clearError" },
        BACK: { target: "payment", actions: "clearError" },
      },
    },
    failed: {
      on: {
        RETRY: { guard: "retryable", target: "placing", actions: assign({ inUseRetries: 0 }) },
        BACK: { target: "review", actions: "clearError" },
      },
    },
    confirmation: {
      type: "final",
    },
  },
});

export type CheckoutMachine = typeof checkoutMachine;

/** The step buttons and headings use these names. */
export const STEPS = ["shipping", "payment", "review", "confirmation"] as const;
export type Step = (typeof STEPS)[number];

export function stepOf(stateValue: unknown): Step {
  const top = typeof stateValue === "string" ? stateValue : Object.keys(stateValue as object)[0];
  switch (top) {
    case "shipping":
      return "shipping";
    case "payment":
    case "paymentDeclined":
      return "payment";
    case "confirmation":
      return "confirmation";
    default:
      return "review";
  }
}
