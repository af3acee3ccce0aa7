import type { ShippingAddress } from "../../api/types";

export type AddressForm = {
  name: string;
  line1: string;
  line2: string;
  city: string;
  postalCode: string;
  country: string;
};

export type AddressErrors = Partial<Record<keyof AddressForm, string>>;

export const EMPTY_ADDRESS: AddressForm = { name: "", line1: "", line2: "", city: "", postalCode: "", country: "" };

const LIMITS: Record<keyof AddressForm, number> = { name: 100, line1: 200, line2: 200, city: 100, postalCode: 20, country: 2 };
const REQUIRED: (keyof AddressForm)[] = ["name", "line1", "city", "postalCode", "country"];
const LABELS: Record<keyof AddressForm, string> = {
  name: "Full name",
  line1: "Address line 1",
  line2: "Address line 2",
  city: "City",
  postalCode: "Postal code",
  country: "Country",
};

/** Validates the form as the API would (ShippingAddress in openapi.yaml); returns the address to send or the errors. */
export function validateAddress(form: AddressForm): { address: ShippingAddress | null; errors: AddressErrors } {
  const trimmed = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, v.trim()])) as AddressForm;
  trimmed.country = trimmed.country.toUpperCase();
  const errors: AddressErrors = {};
  for (const field of Object.keys(LIMITS) as (keyof AddressForm)[]) {
    const value = trimmed[field];
    if (REQUIRED.includes(field) && value === "") errors[field] = `${LABELS[field]} is required.`;
    else if (value.length > LIMITS[field]) errors[field] = `${LABELS[field]} must be at most ${LIMITS[field]} characters.`;
  }
  if (!errors.country && !/^[A-Z]{2}$/.test(trimmed.country)) {
    errors.country = "Country must be a 2-letter code, like US or DE.";
  }
  if (Object.keys(errors).length > 0) return { address: null, errors };
  const address: ShippingAddress = {
    name: trimmed.name,
    line1: trimmed.line1,
    city: trimmed.city,
    postalCode: trimmed.postalCode,
    country: trimmed.country,
  };
  if (trimmed.line2) address.line2 = trimmed.line2;
  return { address, errors };
}

export function isValidAddress(address: ShippingAddress | null | undefined): address is ShippingAddress {
  if (!address) return false;
  return validateAddress({ ...EMPTY_ADDRESS, ...address, line2: address.line2 ?? "" }).address !== null;
}

export function addressToForm(address: ShippingAddress | null | undefined): AddressForm {
  if (!address) return { ...EMPTY_ADDRESS };
  return {
    name: address.name,
    line1: address.line1,
    line2: address.line2 ?? "",
    city: address.city,
    postalCode: address.postalCode,
    country: address.country,
  };
}
