//! The local payment provider: payments kept as items in the shop's table
//! (`CHARGE#<key>`), so that a repeated key finds the first payment even
//! after the runner restarts, and tests and the audit can count real charges
//! and refunds. It behaves as Stripe's PaymentIntents do where money is at
//! stake: a payment is charged at most once, a refunded payment stays
//! refunded whatever is asked of it later, and a cancelled one can never be
//! charged. It reacts to the test payment method ids in
//! [`super::test_methods`]; any other `pm_…` id succeeds like a valid card.
//! Tests inject the provider's failures with `fail` points:
//! `payments-refund-unavailable` (down: nothing refunded),
//! `payments-refund-answer-lost` and `payments-confirm-answer-lost` (done,
//! but the answer never arrives).

use super::{
    Payment, PaymentError, PaymentId, PaymentProvider, PaymentRequest, PaymentState, PaymentTags, Refund, test_methods,
};
use crate::money::{Currency, Money};
use crate::store::keys::{self, PK, SK};
use crate::store::{Attrs, DynamoStore, Item, StoreError, condition_failed, n, s};
use crate::time::Timestamp;
use aws_sdk_dynamodb::types::AttributeValue;

/// Payment ids carry the key they were created under, so every call finds its item.
const PAYMENT_ID_PREFIX: &str = "pi_sim_";

/// The `status` attribute, named as Stripe names a PaymentIntent's status.
const UNCONFIRMED: &str = "requires_confirmation";
const DECLINED: &str = "requires_payment_method";
const SUCCEEDED: &str = "succeeded";
const CANCELLED: &str = "canceled";

#[derive(Debug, Clone)]
pub struct SimulatedProvider {
    store: DynamoStore,
}

impl SimulatedProvider {
    pub fn new(store: DynamoStore) -> Self {
        Self { store }
    }

    fn key_of(payment: &PaymentId) -> Result<&str, PaymentError> {
        payment
            .as_str()
            .strip_prefix(PAYMENT_ID_PREFIX)
            .ok_or_else(|| PaymentError::Rejected(format!("{payment} is not a simulated payment")))
    }

    async fn stored(&self, key: &str) -> Result<Option<Item>, PaymentError> {
        let output = self
            .store
            .client
            .get_item()
            .table_name(&self.store.table)
            .key(PK, s(keys::charge_pk(key)))
            .key(SK, s(keys::CHARGE_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(StoreError::from_sdk(e)))?;
        Ok(output.item)
    }

    async fn payment(&self, id: &PaymentId) -> Result<Payment, PaymentError> {
        let item = self
            .stored(Self::key_of(id)?)
            .await?
            .ok_or_else(|| PaymentError::Rejected(format!("no such payment: {id}")))?;
        payment_from_item(&item)
    }

    /// Moves a payment from `from` to `status` (with `extra` attributes
    /// set); `false` if it was no longer in `from`.
    async fn transition(
        &self,
        id: &PaymentId,
        from: &[&str],
        status: &str,
        extra: &[(&str, AttributeValue)],
    ) -> Result<bool, PaymentError> {
        let mut expression = String::from("SET #status = :to");
        let mut update = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, s(keys::charge_pk(Self::key_of(id)?)))
            .key(SK, s(keys::CHARGE_SK))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(status));
        let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        for (name, value) in allowed.iter().zip(from) {
            update = update.expression_attribute_values(name, s(*value));
        }
        for (i, (name, value)) in extra.iter().enumerate() {
            expression.push_str(&format!(", #x{i} = if_not_exists(#x{i}, :x{i})"));
            update = update
                .expression_attribute_names(format!("#x{i}"), *name)
                .expression_attribute_values(format!(":x{i}"), value.clone());
        }
        let result = update
            .update_expression(expression)
            .condition_expression(format!("#status IN ({})", allowed.join(", ")))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable(StoreError::from_sdk(e))),
        }
    }
}

fn unavailable(error: StoreError) -> PaymentError {
    PaymentError::Unavailable(error.to_string())
}

/// What a card does when charged.
fn outcome(payment_method: &str) -> Result<(), (&'static str, &'static str)> {
    match payment_method {
        test_methods::DECLINED => Err(("card_declined", "Your card was declined.")),
        test_methods::INSUFFICIENT_FUNDS => Err(("insufficient_funds", "Your card has insufficient funds.")),
        _ => Ok(()),
    }
}

fn payment_from_item(item: &Item) -> Result<Payment, PaymentError> {
    let a = Attrs::new(item);
    let read = |e: StoreError| PaymentError::Rejected(e.to_string());
    let state = match a.s("status").map_err(read)? {
        UNCONFIRMED => PaymentState::Unconfirmed,
        SUCCEEDED if a.opt_s("refundId").is_some() => PaymentState::Refunded,
        SUCCEEDED => PaymentState::Succeeded,
        CANCELLED => PaymentState::Cancelled,
        DECLINED => PaymentState::Declined {
            code: a.opt_s("declineCode").unwrap_or("card_declined").to_owned(),
            message: a.opt_s("declineMessage").unwrap_or("declined").to_owned(),
        },
        other => return Err(PaymentError::Rejected(format!("unknown payment status {other}"))),
    };
    let tags = match (a.opt_s("orderId"), a.opt_s("userId"), a.opt_s("checkoutKey")) {
        (Some(order), Some(user), Some(key)) => Some(PaymentTags {
            order_id: order.to_owned(),
            user_id: user.to_owned(),
            checkout_key: key.to_owned(),
        }),
        _ => None,
    };
    Ok(Payment {
        id: PaymentId::new(a.s("paymentId").map_err(read)?),
        amount: Money::new(
            a.n("amount").map_err(read)?,
            a.parsed("currency", Currency::parse).map_err(read)?,
        ),
        state,
        tags,
    })
}

impl PaymentProvider for SimulatedProvider {
    async fn create(&self, request: &PaymentRequest) -> Result<PaymentId, PaymentError> {
        let id = PaymentId::new(format!("{PAYMENT_ID_PREFIX}{}", request.key));
        let item = Item::from([
            (PK.into(), s(keys::charge_pk(&request.key))),
            (SK.into(), s(keys::CHARGE_SK)),
            ("entity".into(), s("SimulatedPayment")),
            ("paymentId".into(), s(id.as_str())),
            ("status".into(), s(UNCONFIRMED)),
            ("amount".into(), n(request.amount.amount)),
            ("currency".into(), s(request.amount.currency.as_str())),
            ("paymentMethod".into(), s(&request.payment_method)),
            ("description".into(), s(&request.description)),
            ("orderId".into(), s(&request.tags.order_id)),
            ("userId".into(), s(&request.tags.user_id)),
            ("checkoutKey".into(), s(&request.tags.checkout_key)),
            ("createdAt".into(), s(crate::time::format(self.store.clock.now()))),
        ]);
        let put = self
            .store
            .client
            .put_item()
            .table_name(&self.store.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(id),
            // Created before under this key: the same payment, if the same request.
            Err(e) if condition_failed(&e) => {
                let item = self
                    .stored(&request.key)
                    .await?
                    .ok_or_else(|| PaymentError::Unavailable("a payment vanished while being read".into()))?;
                let a = Attrs::new(&item);
                let same = a.n::<i64>("amount").ok() == Some(request.amount.amount)
                    && a.opt_s("paymentMethod") == Some(request.payment_method.as_str());
                if same {
                    Ok(id)
                } else {
                    Err(PaymentError::Rejected(format!(
                        "idempotency key {} was first used with other parameters",
                        request.key
                    )))
                }
            }
            Err(e) => Err(unavailable(StoreError::from_sdk(e))),
        }
    }

    async fn confirm(&self, id: &PaymentId) -> Result<PaymentState, PaymentError> {
        let item = self
            .stored(Self::key_of(id)?)
            .await?
            .ok_or_else(|| PaymentError::Rejected(format!("no such payment: {id}")))?;
        let method = Attrs::new(&item).opt_s("paymentMethod").unwrap_or_default().to_owned();
        let payment = payment_from_item(&item)?;
        if !matches!(payment.state, PaymentState::Unconfirmed | PaymentState::Declined { .. }) {
            return Ok(payment.state);
        }
        if method == test_methods::TIMEOUT {
            return Err(PaymentError::Unavailable("the simulated provider timed out".into()));
        }
        let (status, extra) = match outcome(&method) {
            Ok(()) => (
                SUCCEEDED,
                vec![("chargedAt", s(crate::time::format(self.store.clock.now())))],
            ),
            Err((code, message)) => (DECLINED, vec![("declineCode", s(code)), ("declineMessage", s(message))]),
        };
        // A concurrent confirm or cancel got there first: its outcome stands.
        self.transition(id, &[UNCONFIRMED, DECLINED], status, &extra).await?;
        fail::fail_point!("payments-confirm-answer-lost", |_| Err(PaymentError::Unavailable(
            "the answer to the confirmation was lost (injected)".into()
        )));
        Ok(self.payment(id).await?.state)
    }

    async fn retrieve(&self, id: &PaymentId) -> Result<Payment, PaymentError> {
        self.payment(id).await
    }

    async fn cancel(&self, id: &PaymentId) -> Result<PaymentState, PaymentError> {
        self.transition(id, &[UNCONFIRMED, DECLINED], CANCELLED, &[]).await?;
        Ok(self.payment(id).await?.state)
    }

    async fn refund(&self, id: &PaymentId) -> Result<Refund, PaymentError> {
        fail::fail_point!("payments-refund-unavailable", |_| Err(PaymentError::Unavailable(
            "the provider is down (injected); nothing was refunded".into()
        )));
        let refund_id = format!("re_sim_{}", Self::key_of(id)?);
        let at = s(crate::time::format(self.store.clock.now()));
        // The first refund wins; a later one finds the payment refunded.
        if !self
            .transition(
                id,
                &[SUCCEEDED],
                SUCCEEDED,
                &[("refundId", s(&refund_id)), ("refundedAt", at)],
            )
            .await?
        {
            return Err(PaymentError::Rejected(format!("no successful charge {id} to refund")));
        }
        fail::fail_point!("payments-refund-answer-lost", |_| Err(PaymentError::Unavailable(
            "the answer to the refund was lost (injected)".into()
        )));
        let item = self.stored(Self::key_of(id)?).await?.unwrap_or_default();
        let id = Attrs::new(&item).opt_s("refundId").unwrap_or(&refund_id).to_owned();
        Ok(Refund { id })
    }

    async fn list(&self, since: Timestamp) -> Result<Vec<Payment>, PaymentError> {
        let since = crate::time::format(since);
        let mut payments = Vec::new();
        let mut start = None;
        loop {
            // The simulated provider's payments are spread over the table; a
            // filtered scan finds them (local use only, never on a hot path).
            let page = self
                .store
                .client
                .scan()
                .table_name(&self.store.table)
                .filter_expression("begins_with(#pk, :charge) AND createdAt >= :since")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":charge", s(keys::charge_pk("")))
                .expression_attribute_values(":since", s(&since))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable(StoreError::from_sdk(e)))?;
            for item in page.items() {
                payments.push(payment_from_item(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(payments);
            }
        }
    }
}
