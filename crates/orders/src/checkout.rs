//! Checkout: turns the caller's cart into an order, once, however often the
//! request is retried or whoever finishes it. The steps and what each
//! failure does are drawn in `docs/checkout.md`:
//!
//! 1. claim the idempotency key (replay, 409 or 422 instead if it is taken);
//! 2. read the cart and check every line is still reserved;
//! 3. settle the payment an earlier attempt left on the key's record:
//!    read it back from the provider and keep it, or refund or cancel it;
//! 4. create a new payment at the provider (no money moves), note it with
//!    its id on the record, then charge it (a payment is charged at most
//!    once);
//! 5. one transaction creates the order, sells the reserved units, deletes
//!    the cart lines, completes the key with the response and writes the
//!    outbox event;
//! 6. if that transaction cannot commit, refund the payment and say why.
//!
//! A payment the record notes is never used again once its refund has
//! started (`refunding`), so no order can be placed on refunded money.
//! A run that dies anywhere leaves the key locked for
//! `idempotency::LOCK_TTL`; then the shopper's retry resumes, or after
//! `reconcile::RECONCILE_AFTER` the reconciler does ([`reconcile_checkout`]), without
//! ever charging a card itself.

use shop_domain::cart::CartLine;
use shop_domain::idempotency::{self, IdempotencyKey, StoredResponse};
use shop_domain::ids::UserId;
use shop_domain::order::{CheckoutRefusal, Order, OrderId, OrderLine, OrderPayment, OrderStatus};
use shop_domain::payment::{PaymentError, PaymentRequest, PaymentState, PaymentTags};
use shop_domain::pricing;
use shop_domain::stock::MAX_QUANTITY_PER_LINE;
use shop_domain::time::{Now, Timestamp};
use shop_payments::PaymentProvider;
use shop_store::StoreError;
use shop_store::cart::CartReader;
use shop_store::orders::{Audit, CheckoutStore, Claim, Commit, NotedPayment, Ticket};

pub use shop_domain::order::PlaceOrder;

/// The answer to a checkout request, as stored for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub response: StoredResponse,
    /// Sent before: the stored response of the first request with this key.
    pub replayed: bool,
}

/// Why a checkout request ended without an answer to keep; the same
/// request may be sent again. (A checkout that ends with an answer, an
/// order or a [`CheckoutRefusal`], keeps it for every retry.)
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// Another request with this key is running.
    #[error("a request with this Idempotency-Key is still being processed")]
    KeyInUse,
    /// The key was used before with another request body.
    #[error("this Idempotency-Key was already used with a different request body")]
    KeyReused,
    /// The payment provider did not answer; the key was released, so the
    /// retry settles the payment first.
    #[error("the payment provider did not answer: {0}")]
    ProviderUnavailable(String),
    /// The provider refused a request it should have taken: a bug or a
    /// misconfiguration, not the shopper's doing.
    #[error("the payment provider refused: {0}")]
    ProviderRefused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A crash injected by a test (`fail::cfg`) at this failpoint.
    #[error("crash injected at {0}")]
    Crashed(&'static str),
}

/// Places an order from the caller's cart (`POST /orders`).
pub async fn place_order<S, P>(
    store: &S,
    payments: &P,
    user: &UserId,
    key: &IdempotencyKey,
    fingerprint: &str,
    request: &PlaceOrder,
) -> Result<Answer, CheckoutError>
where
    S: CheckoutStore + CartReader + Now,
    P: PaymentProvider,
{
    let now = store.now();
    let ticket = match store.claim(user, key, fingerprint, request, now).await? {
        Claim::Claimed(ticket) => ticket,
        Claim::Replay(response) => {
            return Ok(Answer {
                response,
                replayed: true,
            });
        }
        Claim::InUse => return Err(CheckoutError::KeyInUse),
        Claim::Reused => return Err(CheckoutError::KeyReused),
    };
    let checkout = Checkout {
        store,
        payments,
        ticket: &ticket,
        request,
        runner: Runner::Shopper,
    };
    let answer = checkout.run().await;
    match &answer {
        Ok(_) => tracing::info!(user = %user, attempt = ticket.attempt, "checkout answered"),
        Err(e) => tracing::warn!(user = %user, error = %e, "checkout failed"),
    }
    answer.map(|response| Answer {
        response,
        replayed: false,
    })
}

/// Finishes a checkout whose last attempt died (the reconciler holds its
/// key in `ticket`): keeps a payment that was charged and places the order
/// if the cart still matches it, refunds it otherwise, cancels a payment
/// that was never charged, and completes the key with the answer the
/// shopper's retry will get. It never charges a card.
pub async fn reconcile_checkout<S, P>(
    store: &S,
    payments: &P,
    ticket: &Ticket,
    request: &PlaceOrder,
) -> Result<StoredResponse, CheckoutError>
where
    S: CheckoutStore + CartReader + Now,
    P: PaymentProvider,
{
    Checkout {
        store,
        payments,
        ticket,
        request,
        runner: Runner::Reconciler,
    }
    .run()
    .await
}

/// Who runs an attempt: the shopper's request may charge the card; the
/// reconciler only finishes what a dead attempt started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    Shopper,
    Reconciler,
}

/// One attempt at a checkout that holds its key.
struct Checkout<'a, S, P> {
    store: &'a S,
    payments: &'a P,
    ticket: &'a Ticket,
    request: &'a PlaceOrder,
    runner: Runner,
}

/// Why a cart cannot be checked out as it is, if it cannot.
fn check_cart(lines: &[CartLine], now: Timestamp) -> Result<(), CheckoutRefusal> {
    if lines.is_empty() {
        return Err(CheckoutRefusal::CartEmpty);
    }
    let expired: Vec<String> = lines
        .iter()
        .filter(|l| !l.is_reserved(now))
        .map(|l| l.product_id.to_string())
        .collect();
    if !expired.is_empty() {
        return Err(CheckoutRefusal::ReservationExpired { product_ids: expired });
    }
    debug_assert!(lines.iter().all(|l| l.quantity <= MAX_QUANTITY_PER_LINE));
    Ok(())
}

/// What becomes of a payment an earlier attempt of the checkout noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// Carry on with it: charge it, or keep its charge or its decline.
    Carry,
    /// Cancel it first, so it can never be charged, then decide again.
    Cancel,
    /// It holds money this checkout will not keep.
    Refund,
    /// No money moved and none ever will: drop it from the record.
    Forget,
    /// The provider is still deciding: try again later.
    Wait,
}

/// Decides, from the payment's state as the provider reports it now,
/// whether it is `same` as the payment this attempt would make, whether
/// this attempt may charge a card, and whether it was just cancelled.
fn settle_payment(state: &PaymentState, same: bool, may_confirm: bool, cancelled: bool) -> Settle {
    match state {
        PaymentState::Unconfirmed if may_confirm && !cancelled => Settle::Carry,
        PaymentState::Succeeded | PaymentState::Declined { .. } if same => Settle::Carry,
        PaymentState::Unconfirmed | PaymentState::Declined { .. } if !cancelled => Settle::Cancel,
        PaymentState::Succeeded => Settle::Refund,
        PaymentState::Refunded | PaymentState::Cancelled => Settle::Forget,
        PaymentState::Processing | PaymentState::Unconfirmed | PaymentState::Declined { .. } => Settle::Wait,
    }
}

/// What this attempt would charge, when the cart can be checked out.
#[derive(Debug, Clone)]
struct Wanted<'a> {
    amount: shop_domain::money::Money,
    payment_method: &'a str,
    /// The priced lines ([`cart_digest`]).
    cart: String,
}

impl Wanted<'_> {
    /// Whether `noted` is exactly this payment: the same money, card and
    /// lines (the same total for other goods is not the same payment).
    fn is(&self, noted: &NotedPayment) -> bool {
        noted.amount == self.amount && noted.payment_method == self.payment_method && noted.cart == self.cart
    }
}

/// A digest of the priced lines a payment pays for: product, quantity and
/// unit price of each, in product order.
pub fn cart_digest(lines: &[CartLine]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&CartLine> = lines.iter().collect();
    sorted.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    let mut hash = Sha256::new();
    for line in sorted {
        let price = line.unit_price;
        for part in [
            line.product_id.as_str(),
            &line.quantity.to_string(),
            &price.amount.to_string(),
            price.currency.as_str(),
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
    }
    hash.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl<S, P> Checkout<'_, S, P>
where
    S: CheckoutStore + CartReader + Now,
    P: PaymentProvider,
{
    async fn run(&self) -> Result<StoredResponse, CheckoutError> {
        fail::fail_point!("checkout-before-charge", |_| Err(CheckoutError::Crashed(
            "checkout-before-charge"
        )));
        let ticket = self.ticket;
        let now = self.store.now();
        let cart = self.store.cart(&ticket.user).await?;
        let verdict = check_cart(&cart, now);
        let totals = pricing::price(
            cart.iter().map(|l| (l.unit_price, l.quantity)),
            shop_domain::catalog::SHOP_CURRENCY,
        );
        let wanted = verdict.is_ok().then(|| Wanted {
            amount: totals.total,
            payment_method: self.request.payment_method_id.as_str(),
            cart: cart_digest(&cart),
        });

        // What an earlier attempt left: kept if it is exactly this
        // checkout's payment, otherwise refunded or cancelled first.
        let carried = match &ticket.payment {
            Some(noted) => self.settle(noted, wanted.as_ref()).await?,
            None => None,
        };
        if let Err(refusal) = verdict {
            return self.fail(refusal, "cart not reservable").await;
        }
        let (noted, state) = match carried {
            Some(carried) => carried,
            None if self.runner == Runner::Reconciler => {
                return self
                    .fail(
                        CheckoutRefusal::CheckoutInterrupted,
                        "checkout interrupted before a charge",
                    )
                    .await;
            }
            None => {
                let wanted = wanted.expect("the cart can be checked out");
                (self.create(&wanted).await?, PaymentState::Unconfirmed)
            }
        };
        let state = match state {
            PaymentState::Unconfirmed => self.confirm(&noted).await?,
            settled => settled,
        };
        match state {
            PaymentState::Succeeded => {}
            PaymentState::Declined { code, message } => {
                let refusal = CheckoutRefusal::PaymentFailed {
                    decline_code: code,
                    message,
                };
                return self.fail(refusal, "payment declined").await;
            }
            other => {
                let error = PaymentError::Unavailable(format!("the payment is {other:?}"));
                return Err(self.give_up(error, "payment provider").await);
            }
        }
        fail::fail_point!("checkout-after-charge", |_| Err(CheckoutError::Crashed(
            "checkout-after-charge"
        )));

        let placed_at = self.store.now();
        let order = self.order(&cart, totals, &noted, placed_at);
        let response = StoredResponse::Placed {
            body: serde_json::to_string(&order.placed_view()).expect("views serialise"),
        };
        match self
            .store
            .commit_order(ticket, &order, &cart, &response, placed_at)
            .await?
        {
            Commit::Placed => {
                fail::fail_point!("checkout-after-commit", |_| Err(CheckoutError::Crashed(
                    "checkout-after-commit"
                )));
                tracing::info!(order = %order.id, total = order.totals.total.amount, "order placed");
                Ok(response)
            }
            // A later attempt owns the key and the payment now.
            Commit::LostKey => Err(CheckoutError::KeyInUse),
            Commit::CartChanged => {
                self.refund(&noted).await?;
                let cart = self.store.cart(&ticket.user).await?;
                let refusal = check_cart(&cart, self.store.now())
                    .err()
                    .unwrap_or(CheckoutRefusal::CartChanged);
                self.fail(refusal, "cart changed after payment; refunded").await
            }
        }
    }

    /// Names this checkout: the user, the key and the key's first use.
    fn seed(&self) -> [u8; 32] {
        idempotency::checkout_seed(&self.ticket.user, &self.ticket.key, self.ticket.created_at)
    }

    fn order_id(&self) -> OrderId {
        OrderId::derive(&self.seed())
    }

    fn order(&self, cart: &[CartLine], totals: pricing::Totals, noted: &NotedPayment, at: Timestamp) -> Order {
        Order {
            id: self.order_id(),
            user_id: self.ticket.user.clone(),
            status: OrderStatus::Confirmed,
            lines: cart
                .iter()
                .map(|l| OrderLine {
                    product_id: l.product_id.clone(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    line_total: shop_domain::money::Money::new(l.unit_price.amount * l.quantity, l.unit_price.currency),
                    taken: l.taken.clone(),
                })
                .collect(),
            totals,
            shipping_address: self.request.shipping_address.clone(),
            payment: OrderPayment {
                payment_id: noted.id.clone(),
                provider_key: noted.key.clone(),
                refund_id: None,
            },
            estimated_delivery: pricing::estimated_delivery(at.date()),
            tracking_number: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    /// Notes the payment on the record; only while this attempt holds the key.
    async fn note(&self, payment: &NotedPayment) -> Result<(), CheckoutError> {
        if self.store.note_payment(self.ticket, payment).await? {
            Ok(())
        } else {
            Err(CheckoutError::KeyInUse)
        }
    }

    /// Forgets a payment that holds no money and never will (refunded,
    /// cancelled, or never charged): the next payment of this checkout takes
    /// the next number after `seq`, so a new key.
    async fn forget(&self, seq: u32) -> Result<(), CheckoutError> {
        let seq = seq.max(self.ticket.charge_seq);
        if self.store.forget_payment(self.ticket, seq).await? {
            Ok(())
        } else {
            Err(CheckoutError::KeyInUse)
        }
    }

    /// Settles the payment an earlier attempt noted: `Some` to carry on
    /// with it (it is exactly the payment this attempt would make), `None`
    /// once it has been refunded or cancelled and forgotten.
    async fn settle(
        &self,
        noted: &NotedPayment,
        wanted: Option<&Wanted<'_>>,
    ) -> Result<Option<(NotedPayment, PaymentState)>, CheckoutError> {
        let same = wanted.is_some_and(|w| w.is(noted));
        let may_confirm = same && self.runner == Runner::Shopper;
        if noted.refunding {
            self.refund(noted).await?;
            return Ok(None);
        }
        let id = &noted.id;
        let mut state = match self.payments.retrieve(id).await {
            Ok(payment) => payment.state,
            Err(error) => return Err(self.give_up(error, "reading back an earlier payment").await),
        };
        let mut cancelled = false;
        loop {
            match settle_payment(&state, same, may_confirm, cancelled) {
                Settle::Carry => return Ok(Some((noted.clone(), state))),
                Settle::Cancel => {
                    // So that no slow attempt can still charge it; if one
                    // just did, the answer says so.
                    state = match self.payments.cancel(id).await {
                        Ok(state) => state,
                        Err(error) => return Err(self.give_up(error, "cancelling an earlier payment").await),
                    };
                    cancelled = true;
                }
                Settle::Refund => {
                    self.refund(noted).await?;
                    return Ok(None);
                }
                Settle::Forget => {
                    self.forget(noted.seq).await?;
                    return Ok(None);
                }
                Settle::Wait => {
                    let error = PaymentError::Unavailable(format!("payment {id} is {state:?}"));
                    return Err(self.give_up(error, "settling an earlier payment").await);
                }
            }
        }
    }

    /// Creates the payment this attempt wants at the provider (no money
    /// moves) and notes it, with its id, before any charge. Its key names
    /// the checkout, the payment's number, the amount, the card and the
    /// lines: a retry asking for the same payment gets the one an attempt
    /// that died before noting it created (never charged), and one asking
    /// for another payment gets another.
    async fn create(&self, wanted: &Wanted<'_>) -> Result<NotedPayment, CheckoutError> {
        let seq = self.ticket.charge_seq + 1;
        let key = idempotency::payment_key(&self.seed(), seq, wanted.amount, wanted.payment_method, &wanted.cart);
        let request = PaymentRequest {
            key: key.clone(),
            amount: wanted.amount,
            payment_method: wanted.payment_method.to_owned(),
            description: format!("storefront order {}", self.order_id()),
            tags: PaymentTags {
                order_id: self.order_id().to_string(),
                user_id: self.ticket.user.to_string(),
                checkout_key: self.ticket.key.as_str().to_owned(),
            },
        };
        let id = match self.payments.create(&request).await {
            Ok(id) => id,
            Err(error) => {
                // Nothing was charged. The retry asks under the next number
                // (Stripe would replay this answer to the same key).
                self.forget(seq).await?;
                return Err(self.give_up(error, "creating the payment").await);
            }
        };
        let noted = NotedPayment {
            seq,
            key,
            amount: wanted.amount,
            payment_method: wanted.payment_method.to_owned(),
            cart: wanted.cart.clone(),
            id,
            refunding: false,
        };
        self.note(&noted).await?;
        Ok(noted)
    }

    /// Charges the noted payment; an answer that did not arrive is read back.
    async fn confirm(&self, noted: &NotedPayment) -> Result<PaymentState, CheckoutError> {
        match self.payments.confirm(&noted.id).await {
            Ok(state) => Ok(state),
            Err(PaymentError::Unavailable(_)) => match self.payments.retrieve(&noted.id).await {
                Ok(payment) => Ok(payment.state),
                Err(error) => Err(self.give_up(error, "reading back the payment").await),
            },
            Err(error) => Err(self.give_up(error, "charging the payment").await),
        }
    }

    /// Refunds the noted payment and forgets it. The record says
    /// `refunding` before the provider is asked, so the payment is never
    /// used for an order again, whatever happens to the answer.
    async fn refund(&self, noted: &NotedPayment) -> Result<(), CheckoutError> {
        let id = &noted.id;
        if !noted.refunding {
            let refunding = NotedPayment {
                refunding: true,
                ..noted.clone()
            };
            self.note(&refunding).await?;
        }
        match self.payments.refund(id).await {
            Ok(refund) => tracing::info!(payment = %id, refund = %refund.id, "payment refunded"),
            // Refused: fine if it is refunded already (a payment is only
            // ever marked for refund once it was charged).
            Err(PaymentError::Rejected(why)) => match self.payments.retrieve(id).await {
                Ok(payment) if payment.state == PaymentState::Refunded => {
                    tracing::info!(payment = %id, "already refunded")
                }
                _ => return Err(self.give_up(PaymentError::Rejected(why), "refund").await),
            },
            Err(error) => return Err(self.give_up(error, "refund").await),
        }
        fail::fail_point!("checkout-after-refund", |_| Err(CheckoutError::Crashed(
            "checkout-after-refund"
        )));
        self.forget(noted.seq).await
    }

    /// A transient failure: give the key up at once, so that a retry (which
    /// will settle the noted payment first) can run.
    async fn give_up(&self, error: PaymentError, step: &str) -> CheckoutError {
        let audit = Audit {
            reason: "PAYMENT_PROVIDER_UNAVAILABLE",
            detail: format!("{step}: {error}"),
        };
        if let Err(e) = self.store.release(self.ticket, &audit, self.store.now()).await {
            tracing::warn!(error = %e, "could not release the idempotency key; it expires by itself");
        }
        match error {
            PaymentError::Rejected(detail) => CheckoutError::ProviderRefused(format!("{step}: {detail}")),
            PaymentError::Unavailable(detail) => CheckoutError::ProviderUnavailable(format!("{step}: {detail}")),
        }
    }

    /// A final failure: stored as the key's response (so a retry gets the
    /// same answer) and audited.
    async fn fail(&self, refusal: CheckoutRefusal, why: &str) -> Result<StoredResponse, CheckoutError> {
        let audit = Audit {
            reason: refusal.code(),
            detail: format!("{why}: {refusal}"),
        };
        let response = StoredResponse::Refused(refusal);
        if self
            .store
            .fail(self.ticket, &response, &audit, self.store.now())
            .await?
        {
            Ok(response)
        } else {
            Err(CheckoutError::KeyInUse)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declined() -> PaymentState {
        PaymentState::Declined {
            code: "card_declined".into(),
            message: "no".into(),
        }
    }

    #[test]
    fn a_payment_exactly_like_this_attempts_is_carried_on() {
        assert_eq!(
            settle_payment(&PaymentState::Succeeded, true, true, false),
            Settle::Carry
        );
        assert_eq!(
            settle_payment(&PaymentState::Unconfirmed, true, true, false),
            Settle::Carry
        );
        assert_eq!(settle_payment(&declined(), true, true, false), Settle::Carry);
        // The reconciler keeps a charge but never charges a card itself.
        assert_eq!(
            settle_payment(&PaymentState::Succeeded, true, false, false),
            Settle::Carry
        );
        assert_eq!(
            settle_payment(&PaymentState::Unconfirmed, true, false, false),
            Settle::Cancel
        );
    }

    #[test]
    fn money_this_checkout_will_not_keep_is_refunded() {
        assert_eq!(
            settle_payment(&PaymentState::Succeeded, false, false, false),
            Settle::Refund
        );
        assert_eq!(
            settle_payment(&PaymentState::Succeeded, false, true, true),
            Settle::Refund
        );
    }

    #[test]
    fn a_payment_not_charged_is_cancelled_before_it_is_forgotten() {
        assert_eq!(
            settle_payment(&PaymentState::Unconfirmed, false, false, false),
            Settle::Cancel
        );
        assert_eq!(settle_payment(&declined(), false, false, false), Settle::Cancel);
        assert_eq!(
            settle_payment(&PaymentState::Cancelled, false, false, true),
            Settle::Forget
        );
        // Charged by a slow attempt just before the cancel: kept or refunded.
        assert_eq!(
            settle_payment(&PaymentState::Succeeded, true, true, true),
            Settle::Carry
        );
    }

    #[test]
    fn a_refunded_payment_is_never_used_again() {
        for same in [true, false] {
            assert_eq!(
                settle_payment(&PaymentState::Refunded, same, same, false),
                Settle::Forget
            );
        }
    }

    #[test]
    fn a_payment_still_processing_or_not_cancellable_waits() {
        assert_eq!(
            settle_payment(&PaymentState::Processing, true, true, false),
            Settle::Wait
        );
        assert_eq!(
            settle_payment(&PaymentState::Unconfirmed, false, false, true),
            Settle::Wait
        );
    }
}
