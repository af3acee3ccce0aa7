import { useRef, useState } from "react";
import { validateAddress, type AddressErrors, type AddressForm } from "./address";

const FIELDS: { name: keyof AddressForm; label: string; autoComplete: string; optional?: boolean; hint?: string }[] = [
  { name: "name", label: "Full name", autoComplete: "name" },
  { name: "line1", label: "Address line 1", autoComplete: "address-line1" },
  { name: "line2", label: "Address line 2", autoComplete: "address-line2", optional: true },
  { name: "city", label: "City", autoComplete: "address-level2" },
  { name: "postalCode", label: "Postal code", autoComplete: "postal-code" },
  { name: "country", label: "Country", autoComplete: "country", hint: "2-letter code, e.g. US" },
];

/** The address form: validated as the API would, focus on the first field in error. */
export function ShippingForm({ initial, onSubmit }: { initial: AddressForm; onSubmit: (form: AddressForm) => boolean }) {
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
