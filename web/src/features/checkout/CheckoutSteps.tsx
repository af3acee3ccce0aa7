import { STEPS, type Step } from "./machine";

export const STEP_LABELS: Record<Step, string> = {
  shipping: "Shipping",
  payment: "Payment",
  review: "Review",
  confirmation: "Confirmation",
};

/** The progress bar: done steps, the current one, the ones to come. */
export function CheckoutSteps({ current }: { current: Step }) {
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
