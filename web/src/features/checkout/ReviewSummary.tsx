import type { ShippingAddress } from "../../api/types";
import { TEST_CARDS } from "./machine";

/** Where the order goes and what pays for it. */
export function ReviewSummary({ address, paymentMethodId }: { address: ShippingAddress | null; paymentMethodId: string | null }) {
  return (
    <div className="review-summary">
      <h3>Ship to</h3>
      <address data-testid="review-address">
        {address?.name}
        <br />
        {address?.line1}
        {address?.line2 ? (
          <>
            <br />
            {address.line2}
          </>
        ) : null}
        <br />
        {address?.postalCode} {address?.city}, {address?.country}
      </address>
      <h3>Pay with</h3>
      <p data-testid="review-payment">{TEST_CARDS.find((c) => c.id === paymentMethodId)?.label ?? paymentMethodId}</p>
    </div>
  );
}
