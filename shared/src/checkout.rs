//! Checkout: turns the caller's cart into an order, once, however often the
//! request is retried. The steps and what each failure does are drawn in
//! `docs/checkout.md`:
//!
//! 1. claim the idempotency key (replay, 409 or 422 instead if it is taken);
//! 2. read the cart and check every line is still reserved;
//! 3. note the charge on the key's record, then charge the provider with a
//!    key derived from the shopper's (a retry reuses the same charge);
//! 4. one transaction creates the order, sells the reserved units, deletes
//!    the cart lines, completes the key with the response and writes the
//!    outbox event;
//! 5. if that transaction cannot commit, refund the charge and say why.
//!
//! A run that dies anywhere leaves the key locked for `idempotency::LOCK_TTL`;
//! the retry then resumes, reusing or undoing the charge the dead run noted.

use crate::cart::CartLine;
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::ids::UserId;
use crate::order::{Order, OrderId, OrderLine, OrderPayment, OrderStatus, ShippingAddress};
use crate::payments::{Charge, ChargeRequest, PaymentError, PaymentProvider};
use crate::pricing;
use crate::problem::ApiError;
use crate::stock::MAX_QUANTITY_PER_LINE;
use crate::store::cart::CartReader;
use crate::store::orders::{Audit, CheckoutStore, Claim, Commit, PendingCharge, Ticket};
use crate::time::{Now, Timestamp};
use lambda_http::http::StatusCode;
use serde_json::json;

/// What the shopper sends (besides the `Idempotency-Key` header).
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub shipping_address: ShippingAddress,
    pub payment_method_id: String,
}

/// The answer to a checkout request, as stored for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub response: StoredResponse,
    /// Sent before: the stored response of the first request with this key.
    pub replayed: bool,
}

fn key_in_use() -> ApiError {
    ApiError::conflict(
        "IDEMPOTENCY_KEY_IN_USE",
        "a request with this Idempotency-Key is still being processed; retry shortly",
        json!({}),
    )
}

/// Places an order from the caller's cart (`POST /orders`).
pub async fn place_order<S, P>(
    store: &S,
    payments: &P,
    user: &UserId,
    key: &IdempotencyKey,
    fingerprint: &str,
    request: &PlaceOrder,
) -> Result<Answer, ApiError>
where
    S: CheckoutStore + CartReader + Now,
    P: PaymentProvider,
{
    let now = store.now();
    let ticket = match store.claim(user, key, fingerprint, now).await? {
        Claim::Claimed(ticket) => ticket,
        Claim::Replay(response) => {
            return Ok(Answer {
                response,
                replayed: true,
            });
        }
        Claim::InUse => return Err(key_in_use()),
        Claim::Reused => {
            return Err(ApiError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was already used with a different request body; use a new key",
                json!({}),
            ));
        }
    };
    let checkout = Checkout {
        store,
        payments,
        ticket,
        request,
    };
    let answer = checkout.run(now).await;
    match &answer {
        Ok(_) => tracing::info!(user = %user, attempt = checkout.ticket.attempt, "checkout answered"),
        Err(e) => tracing::warn!(user = %user, code = e.code(), error = %e, "checkout failed"),
    }
    answer.map(|response| Answer {
        response,
        replayed: false,
    })
}

/// One attempt at a checkout that holds its key.
struct Checkout<'a, S, P> {
    store: &'a S,
    payments: &'a P,
    ticket: Ticket,
    request: &'a PlaceOrder,
}

/// Why a cart cannot be checked out as it is, if it cannot.
fn check_cart(lines: &[CartLine], now: Timestamp) -> Result<(), ApiError> {
    if lines.is_empty() {
        return Err(ApiError::conflict(
            "CART_EMPTY",
            "the cart is empty; add something first",
            json!({}),
        ));
    }
    let expired: Vec<&str> = lines
        .iter()
        .filter(|l| !l.is_reserved(now))
        .map(|l| l.product_id.as_str())
        .collect();
    if !expired.is_empty() {
        return Err(ApiError::conflict(
            "RESERVATION_EXPIRED",
            format!(
                "the reservation of {} ran out; add the items to the cart again",
                expired.join(", ")
            ),
            json!({ "productIds": expired }),
        ));
    }
    debug_assert!(lines.iter().all(|l| l.quantity <= MAX_QUANTITY_PER_LINE));
    Ok(())
}

impl<S, P> Checkout<'_, S, P>
where
    S: CheckoutStore + CartReader + Now,
    P: PaymentProvider,
{
    async fn run(&self, now: Timestamp) -> Result<StoredResponse, ApiError> {
        fail::fail_point!("checkout-before-charge", |_| Err(ApiError::Internal(
            "crash injected".into()
        )));
        let ticket = &self.ticket;
        let cart = self.store.cart(&ticket.user).await?;
        let verdict = check_cart(&cart, now);
        let totals = pricing::price(
            cart.iter().map(|l| (l.unit_price, l.quantity)),
            crate::catalog::SHOP_CURRENCY,
        );

        // A charge an earlier attempt noted is reused only if it is exactly
        // the charge this attempt would make; otherwise it is undone first.
        let reusable = ticket.pending.as_ref().filter(|p| {
            verdict.is_ok() && p.amount == totals.total && p.payment_method == self.request.payment_method_id
        });
        let charge = match (reusable, &ticket.pending) {
            (Some(pending), _) => pending.clone(),
            (None, pending) => {
                if let Some(stale) = pending {
                    self.undo(stale).await?;
                    if !self.store.clear_pending_charge(ticket).await? {
                        return Err(key_in_use());
                    }
                }
                if let Err(problem) = verdict {
                    return self.fail(problem, "cart not reservable").await;
                }
                let seq = ticket.charge_seq + 1;
                let seed = self.seed();
                let charge = PendingCharge {
                    seq,
                    key: idempotency::payment_key(&seed, seq),
                    amount: totals.total,
                    payment_method: self.request.payment_method_id.clone(),
                };
                if !self.store.note_pending_charge(ticket, &charge).await? {
                    return Err(key_in_use());
                }
                charge
            }
        };

        let order_id = OrderId::derive(&self.seed());
        let charged = match self.charge(&charge, &order_id).await {
            Ok(charged) => charged,
            Err(PaymentError::Declined { code, message }) => {
                let problem = ApiError::refused(
                    StatusCode::PAYMENT_REQUIRED,
                    "PAYMENT_FAILED",
                    format!("the payment was declined: {message}"),
                    json!({ "declineCode": code }),
                );
                return self.fail(problem, "payment declined").await;
            }
            Err(other) => return Err(self.give_up(other, "payment provider").await),
        };
        fail::fail_point!("checkout-after-charge", |_| Err(ApiError::Internal(
            "crash injected".into()
        )));

        let placed_at = self.store.now();
        let order = Order {
            id: order_id,
            user_id: ticket.user.clone(),
            status: OrderStatus::Confirmed,
            lines: cart
                .iter()
                .map(|l| OrderLine {
                    product_id: l.product_id.clone(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    line_total: crate::money::Money::new(l.unit_price.amount * l.quantity, l.unit_price.currency),
                    taken: l.taken.clone(),
                })
                .collect(),
            totals,
            shipping_address: self.request.shipping_address.clone(),
            payment: OrderPayment {
                charge_id: charged.id.clone(),
                provider_key: charge.key.clone(),
                refund_id: None,
            },
            estimated_delivery: pricing::estimated_delivery(placed_at.date()),
            tracking_number: None,
            created_at: placed_at,
            updated_at: placed_at,
            version: 1,
        };
        let response = StoredResponse {
            status: StatusCode::CREATED.as_u16(),
            body: order.placed_view().to_string(),
        };
        match self
            .store
            .commit_order(ticket, &order, &cart, &response, placed_at)
            .await?
        {
            Commit::Placed => {
                fail::fail_point!("checkout-after-commit", |_| Err(ApiError::Internal(
                    "crash injected".into()
                )));
                tracing::info!(order = %order.id, total = order.totals.total.amount, "order placed");
                Ok(response)
            }
            // A later attempt owns the key and the charge now.
            Commit::LostKey => Err(key_in_use()),
            Commit::CartChanged => {
                self.refund(&charge, &charged).await?;
                if !self.store.clear_pending_charge(ticket).await? {
                    return Err(key_in_use());
                }
                let now = self.store.now();
                let cart = self.store.cart(&ticket.user).await?;
                let problem = check_cart(&cart, now).err().unwrap_or_else(|| {
                    ApiError::conflict(
                        "CART_CHANGED",
                        "the cart changed while the order was being placed; the payment was refunded, review the cart and try again",
                        json!({}),
                    )
                });
                self.fail(problem, "cart changed after payment; refunded").await
            }
        }
    }

    /// Names this checkout: the user, the key and the key's first use.
    fn seed(&self) -> [u8; 32] {
        idempotency::checkout_seed(&self.ticket.user, &self.ticket.key, self.ticket.created_at)
    }

    async fn charge(&self, charge: &PendingCharge, order: &OrderId) -> Result<Charge, PaymentError> {
        self.payments
            .charge(&ChargeRequest {
                key: charge.key.clone(),
                amount: charge.amount,
                payment_method: charge.payment_method.clone(),
                description: format!("storefront order {order}"),
            })
            .await
    }

    async fn refund(&self, pending: &PendingCharge, charge: &Charge) -> Result<(), ApiError> {
        match self.payments.refund(&format!("{}_refund", pending.key), charge).await {
            Ok(refund) => {
                tracing::info!(charge = %charge.id, refund = %refund.id, "charge refunded");
                Ok(())
            }
            Err(error) => Err(self.give_up(error, "refund").await),
        }
    }

    /// Undoes a charge an earlier attempt noted: asks for it again under its
    /// key (which finds it, or makes it now) and refunds it.
    async fn undo(&self, pending: &PendingCharge) -> Result<(), ApiError> {
        let order = OrderId::derive(&self.seed());
        match self.charge(pending, &order).await {
            Ok(charge) => self.refund(pending, &charge).await,
            // Declined: no money moved, nothing to undo.
            Err(PaymentError::Declined { .. }) => Ok(()),
            Err(other) => Err(self.give_up(other, "undoing an earlier charge").await),
        }
    }

    /// A transient failure: give the key up at once, so that a retry (which
    /// will reuse or undo the noted charge) can run, and answer 503.
    async fn give_up(&self, error: PaymentError, step: &str) -> ApiError {
        let audit = Audit {
            reason: "PAYMENT_PROVIDER_UNAVAILABLE",
            detail: format!("{step}: {error}"),
        };
        if let Err(e) = self.store.release(&self.ticket, &audit, self.store.now()).await {
            tracing::warn!(error = %e, "could not release the idempotency key; it expires by itself");
        }
        match error {
            PaymentError::Rejected(detail) => ApiError::Internal(format!("{step}: {detail}")),
            _ => ApiError::Unavailable {
                detail: "the payment provider did not answer; retry with the same Idempotency-Key".into(),
                retry_after_secs: 2,
            },
        }
    }

    /// A final failure: stored as the key's response (so a retry gets the
    /// same answer) and audited.
    async fn fail(&self, problem: ApiError, why: &str) -> Result<StoredResponse, ApiError> {
        let response = StoredResponse {
            status: problem.status().as_u16(),
            body: problem.to_problem().to_string(),
        };
        let audit = Audit {
            reason: problem.code(),
            detail: format!("{why}: {problem}"),
        };
        if self
            .store
            .fail(&self.ticket, &response, &audit, self.store.now())
            .await?
        {
            Ok(response)
        } else {
            Err(key_in_use())
        }
    }
}
