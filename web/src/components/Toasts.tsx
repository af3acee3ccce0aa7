import { useUi } from "../lib/ui";

/** Cart outcomes and other short notices, announced politely, each for a few seconds. */
export function Toasts() {
  const toasts = useUi((s) => s.toasts);
  const dismiss = useUi((s) => s.dismiss);
  return (
    <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
      {toasts.map((t) => (
        <p key={t.id} className={`toast toast-${t.tone}`} data-testid="toast" data-tone={t.tone}>
          <span>{t.text}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </p>
      ))}
    </div>
  );
}
