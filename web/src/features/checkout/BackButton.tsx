/** "Back" to the previous step (disabled while the order is being placed). */
export function BackButton({ onBack, disabled }: { onBack: () => void; disabled: boolean }) {
  return (
    <button type="button" className="button" data-testid="checkout-back" onClick={onBack} disabled={disabled}>
      Back
    </button>
  );
}
