import { useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useMachine } from "@xstate/react";
import { useEffect, useMemo, useRef, useState } from "react";
import type { Cart, Money } from "../api/types";
import { useCart } from "../cart/store";
import { addressToForm, validateAddress, type AddressErrors, type AddressForm } from "../checkout/address";
import { checkoutMachine, STEPS, stepOf, TEST_CARDS, type Step } from "../checkout/machine";
import { Spinner } from "../components/Status";
import { formatDate, formatMoney } from "../lib/format";
import { useTitle } from "../lib/hooks";

const STEP_LABELS: Record<Step, string> = {
  shipping: "Shipping",
  payment: "Payment",
  review: "Review",
  confirmation: "Confirmation",
};

function Steps({ current }: { current: Step }) {
  const at = STEPS.indexOf(current);
  return (
    <ol className="steps" aria-label="Checkout steps">
      {STEPS.map((s, i) => (
        <li key={s} className={i < at ? "done" : i === at ? "current" : ""} aria-current={i === at ? "step" : undefined}>
          {STEP_LABELS[s]}
        </li>
      ))}
    </ol>
  );
}

const FIELDS: { name: keyof AddressForm; label: string; autoComplete: string; optional?: boolean; hint?: string }[] = [
  { name: "name", label: "Full name", autoComplete: "name" },
  { name: "line1", label: "Address line 1", autoComplete: "address-line1" },
  { name: "line2", label: "Address line 2", autoComplete: "address-line2", optional: true },
  { name: "city", label: "City", autoComplete: "address-level2" },
  { name: "postalCode", label: "Postal code", autoComplete: "postal-code" },
  { name: "country", label: "Country", autoComplete: "country", hint: "2-letter code, e.g. US" },
];

function ShippingForm({ initial, onSubmit }: { initial: AddressForm; onSubmit: (form: AddressForm) => boolean }) {
  const [form, setForm] = useState(initial);
  const [errors, setErrors] = useState<AddressErrors>({});
  const formRef = useRef<HTMLFormElement>(null);
  return (
    <form
      ref={formRef}
      className="form"
      data-testid="checkout-shipping-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const result = validateAddress(form);
        setErrors(result.errors);
        if (!result.address) {
          const first = FIELDS.find((f) => result.errors[f.name]);
          if (first) formRef.current?.querySelector<HTMLInputElement>(`#ship-${first.name}`)?.focus();
          return;
        }
        onSubmit(form);
      }}
    >
      {FIELDS.map((f) => {
        const id = `ship-${f.name}`;
        const err = errors[f.name];
        const describedBy = [f.hint ? `${id}-hint` : "", err ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
        return (
          <div className="field" key={f.name}>
            <label htmlFor={id}>
              {f.label}
              {f.optional && <span className="muted"> (optional)</span>}
            </label>
            <input
              id={id}
              name={f.name}
              data-testid={`shipping-${f.name}`}
              autoComplete={f.autoComplete}
              required={!f.optional}
              maxLength={f.name === "country" ? 2 : undefined}
              value={form[f.name]}
              aria-invalid={err ? true : undefined}
              aria-describedby={describedBy}
              onChange={(e) => setForm((prev) => ({ ...prev, [f.name]: e.target.value }))}
            />
            {f.hint && (
              <p id={`${id}-hint`} className="muted small">
                {f.hint}
              </p>
            )}
            {err && (
              <p id={`${id}-error`} className="field-error">
                {err}
              </p>
            )}
          </div>
        );
      })}
      <div className="actions">
        <button type="submit" className="button button-primary" data-testid="checkout-shipping-next">
          Continue to payment
        </button>
      </div>
    </form>
  );
}

function Totals({ cart }: { cart: Cart }) {
  const live = cart.items.filter((i) => i.reserved !== false);
  const subtotal = cart.subtotal;
  // The API's rule (crates/domain/src/pricing.rs): 8% tax, half-up; shipping free over $50.00, else $5.99.
  const tax: Money = { amount: Math.floor((subtotal.amount * 8 + 50) / 100), currency: subtotal.currency };
  const shipping: Money = { amount: subtotal.amount > 5000 ? 0 : 599, currency: subtotal.currency };
  const total: Money = { amount: subtotal.amount + tax.amount + shipping.amount, currency: subtotal.currency };
  return (
    <>
      <ul className="review-lines" aria-label="Items">
        {cart.items.map((i) => (
          <li key={i.productId} data-testid="review-line" className={i.reserved === false ? "is-expired" : ""}>
            <span>
              {i.quantity} × {i.title}
              {i.reserved === false && <span className="warn small"> (reservation expired: not included)</span>}
            </span>
            <span>{formatMoney(i.lineTotal ?? { amount: i.unitPrice.amount * i.quantity, currency: i.unitPrice.currency })}</span>
          </li>
        ))}
      </ul>
      <dl className="totals">
        <dt>Subtotal ({live.reduce((n, i) => n + i.quantity, 0)} items)</dt>
        <dd data-testid="review-subtotal">{formatMoney(subtotal)}</dd>
        <dt>Estimated tax</dt>
        <dd data-testid="review-tax">{formatMoney(tax)}</dd>
        <dt>Shipping</dt>
        <dd data-testid="review-shipping">{shipping.amount === 0 ? "Free" : formatMoney(shipping)}</dd>
        <dt>Estimated total</dt>
        <dd data-testid="review-total">
          <strong>{formatMoney(total)}</strong>
        </dd>
      </dl>
    </>
  );
}

export function CheckoutPage() {
  useTitle("Checkout");
  const queryClient = useQueryClient();
  const machine = useMemo(
    () =>
      checkoutMachine.provide({
        actions: {
          orderPlaced: () => {
            void useCart.getState().reconcile();
            void queryClient.invalidateQueries({ queryKey: ["orders"] });
          },
        },
      }),
    [queryClient],
  );
  const [state, send] = useMachine(machine, { input: undefined });
  const ctx = state.context;
  const step = stepOf(state.value);

  // Move focus to the step's heading when the step changes (keyboard and screen-reader users).
  const heading = useRef<HTMLHeadingElement>(null);
  const firstStep = useRef(true);
  useEffect(() => {
    if (firstStep.current) {
      firstStep.current = false;
      return;
    }
    heading.current?.focus();
  }, [step]);

  const placing = state.matches("placing") || state.matches("waitingToRetry");
  const back = (
    <button type="button" className="button" data-testid="checkout-back" onClick={() => send({ type: "BACK" })} disabled={placing}>
      Back
    </button>
  );

  return (
    <section className="page narrow checkout" data-testid="checkout" data-state={JSON.stringify(state.value)}>
      <h1>Checkout</h1>
      <Steps current={step} />
      <h2 ref={heading} tabIndex={-1} data-testid="checkout-step">
        {STEP_LABELS[step]}
      </h2>

      {state.matches("shipping") && (
        <ShippingForm
          initial={addressToForm(ctx.address)}
          onSubmit={(form) => {
            const { address } = validateAddress(form);
            if (!address) return false;
            send({ type: "SUBMIT_SHIPPING", address });
            return true;
          }}
        />
      )}

      {state.matches("payment") && (
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            send({ type: "NEXT" });
          }}
        >
          <fieldset className="payment-options">
            <legend>Pay with a test card</legend>
            {TEST_CARDS.map((card) => (
              <div className="field field-check" key={card.id}>
                <input
                  type="radio"
                  id={`pay-${card.id}`}
                  name="payment"
                  value={card.id}
                  data-testid={`payment-${card.id}`}
                  checked={ctx.paymentMethodId === card.id}
                  onChange={() => send({ type: "SELECT_PAYMENT", paymentMethodId: card.id })}
                />
                <label htmlFor={`pay-${card.id}`}>
                  {card.label} <span className="muted small">({card.id}: {card.note})</span>
                </label>
              </div>
            ))}
          </fieldset>
          <div className="actions">
            {back}
            <button type="submit" className="button button-primary" data-testid="checkout-payment-next" disabled={!ctx.paymentMethodId}>
              Continue to review
            </button>
          </div>
        </form>
      )}

      {state.matches("paymentDeclined") && (
        <div>
          <div className="notice notice-error" role="alert" data-testid="checkout-error" data-code={ctx.error?.code}>
            <p>
              <strong>Payment declined.</strong> {ctx.error?.message}
            </p>
          </div>
          <div className="actions">
            <button type="button" className="button button-primary" data-testid="checkout-change-payment" onClick={() => send({ type: "CHANGE_PAYMENT" })}>
              Choose another card
            </button>
          </div>
        </div>
      )}

      {(state.matches("review") || state.matches("placing") || state.matches("waitingToRetry") || state.matches("failed")) && (
        <div>
          {state.matches({ review: "loading" }) && <Spinner label="Loading your cart…" />}
          {state.matches({ review: "failed" }) && (
            <div className="notice notice-error" role="alert" data-testid="checkout-error" data-code={ctx.error?.code}>
              <p>{ctx.error?.message}</p>
              <button type="button" className="button" data-testid="checkout-retry" onClick={() => send({ type: "RETRY" })}>
                Retry
              </button>
            </div>
          )}
          {ctx.cart && !state.matches({ review: "loading" }) && (
            <>
              <div className="review-summary">
                <h3>Ship to</h3>
                <address data-testid="review-address">
                  {ctx.address?.name}
                  <br />
                  {ctx.address?.line1}
                  {ctx.address?.line2 ? (
                    <>
                      <br />
                      {ctx.address.line2}
                    </>
                  ) : null}
                  <br />
                  {ctx.address?.postalCode} {ctx.address?.city}, {ctx.address?.country}
                </address>
                <h3>Pay with</h3>
                <p data-testid="review-payment">{TEST_CARDS.find((c) => c.id === ctx.paymentMethodId)?.label ?? ctx.paymentMethodId}</p>
              </div>
              {ctx.cart.items.length === 0 ? (
                <p className="notice" data-testid="review-empty">
                  Your cart is empty. <Link to="/search">Find something to buy</Link>.
                </p>
              ) : (
                <Totals cart={ctx.cart} />
              )}
            </>
          )}
          {state.matches("failed") && (
            <div className="notice notice-error" role="alert" data-testid="checkout-error" data-code={ctx.error?.code}>
              <p>{ctx.error?.message}</p>
              {ctx.error?.retryable ? (
                <p className="small">Retrying is safe: it cannot place the order twice.</p>
              ) : (
                <p className="small">Go back to the review to check your cart, then place the order again.</p>
              )}
              {ctx.error?.retryable && (
                <button type="button" className="button button-primary" data-testid="checkout-retry" onClick={() => send({ type: "RETRY" })}>
                  Retry
                </button>
              )}
            </div>
          )}
          {state.matches("waitingToRetry") && (
            <p role="status" data-testid="checkout-waiting">
              Your order is still being processed; checking again…
            </p>
          )}
          <div className="actions">
            {state.matches("failed") ? (
              <button type="button" className="button" data-testid="checkout-back" onClick={() => send({ type: "BACK" })}>
                Back to review
              </button>
            ) : (
              back
            )}
            {!state.matches("failed") && (
              <button
                type="button"
                className="button button-primary"
                data-testid="place-order"
                aria-busy={placing || undefined}
                disabled={!state.can({ type: "PLACE" })}
                onClick={() => send({ type: "PLACE" })}
              >
                {placing ? "Placing order…" : "Place order"}
              </button>
            )}
          </div>
        </div>
      )}

      {state.matches("confirmation") && ctx.order && (
        <div className="confirmation" data-testid="checkout-confirmation">
          <p className="notice notice-ok" role="status">
            Thank you! Your order is confirmed.
          </p>
          <dl className="totals">
            <dt>Order number</dt>
            <dd data-testid="confirmation-order-id">{ctx.order.orderId}</dd>
            <dt>Total charged</dt>
            <dd data-testid="confirmation-total">{formatMoney(ctx.order.total)}</dd>
            <dt>Estimated delivery</dt>
            <dd data-testid="confirmation-delivery">{formatDate(ctx.order.estimatedDelivery)}</dd>
          </dl>
          <div className="actions">
            <Link to="/orders/$orderId" params={{ orderId: ctx.order.orderId }} className="button button-primary" data-testid="confirmation-view-order">
              Track this order
            </Link>
            <Link to="/search" className="button">
              Continue shopping
            </Link>
          </div>
        </div>
      )}
    </section>
  );
}
