import { useQueryClient } from "@tanstack/react-query";
import { useMachine } from "@xstate/react";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTitle } from "../../lib/hooks";
import { useAuth } from "../auth/store";
import { useCart } from "../cart/store";
import { orderKeys } from "../orders/queries";
import { addressToForm, validateAddress } from "./address";
import { BackButton } from "./BackButton";
import { CheckoutSteps, STEP_LABELS } from "./CheckoutSteps";
import { Confirmation } from "./Confirmation";
import { checkoutMachine, progressOf, stepOf } from "./machine";
import { PaymentDeclined } from "./PaymentDeclined";
import { PaymentStep } from "./PaymentStep";
import { clearProgress, loadProgress, saveProgress } from "./progress";
import { ReviewStep } from "./ReviewStep";
import { ShippingForm } from "./ShippingForm";

/**
 * `/checkout`: shipping → payment → review → placing → confirmation, driven by the checkout
 * machine. Its progress (and the attempt's Idempotency-Key) is kept in this tab across a reload
 * (`progress.ts`); leaving the page within the app ends it.
 */
export function CheckoutPage() {
  useTitle("Checkout");
  const queryClient = useQueryClient();
  const machine = useMemo(
    () =>
      checkoutMachine.provide({
        actions: {
          orderPlaced: () => {
            void useCart.getState().reconcile();
            void queryClient.invalidateQueries({ queryKey: orderKeys.list });
          },
        },
      }),
    [queryClient],
  );
  const user = useAuth((s) => s.session?.user ?? "");
  const [resumed] = useState(() => loadProgress(user));
  const [state, send] = useMachine(machine, { input: resumed });
  const ctx = state.context;
  const step = stepOf(state.value);

  useEffect(() => {
    if (user) saveProgress(user, progressOf(state.value, ctx));
  }, [user, state.value, ctx]);
  // Leaving the page within the app ends the checkout (a reload does not unmount it).
  useEffect(() => () => clearProgress(user), [user]);

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
  const back = <BackButton onBack={() => send({ type: "BACK" })} disabled={placing} />;

  return (
    <section className="page narrow checkout" data-testid="checkout" data-state={JSON.stringify(state.value)}>
      <h1>Checkout</h1>
      <CheckoutSteps current={step} />
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
        <PaymentStep
          paymentMethodId={ctx.paymentMethodId}
          onSelect={(paymentMethodId) => send({ type: "SELECT_PAYMENT", paymentMethodId })}
          onNext={() => send({ type: "NEXT" })}
          back={back}
        />
      )}

      {state.matches("paymentDeclined") && (
        <PaymentDeclined error={ctx.error} onChangePayment={() => send({ type: "CHANGE_PAYMENT" })} />
      )}

      {(state.matches("review") || state.matches("placing") || state.matches("waitingToRetry") || state.matches("failed")) && (
        <ReviewStep state={state} send={send} placing={placing} back={back} />
      )}

      {state.matches("confirmation") && ctx.order && <Confirmation order={ctx.order} />}
    </section>
  );
}
