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
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

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
        self.store
            .get(keys::charge_pk(key), keys::CHARGE_SK)
            .await
            .map_err(unavailable)
    }

    async fn payment(&self, id: &PaymentId) -> Result<Payment, PaymentError> {
        let item = self
            .stored(Self::key_of(id)?)
            .await?
            .ok_or_else(|| PaymentError::Rejected(format!("no such payment: {id}")))?;
        payment_from_item(&item)
    }

    /// Moves a payment from a status in `from` to `to` (with `extra`
    /// attributes set once), answering the payment as it is after; `None`
    /// if it was in no status of `from` (or, for [`To::Outcome`], its card
    /// never answers).
    async fn transition(
        &self,
        id: &PaymentId,
        from: &[&str],
        to: To<'_>,
        extra: &[(&str, AttributeValue)],
    ) -> Result<Option<Item>, PaymentError> {
        let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut condition = format!("#status IN ({})", allowed.join(", "));
        let mut update = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, s(keys::charge_pk(Self::key_of(id)?)))
            .key(SK, s(keys::CHARGE_SK))
            .expression_attribute_names("#status", "status")
            .return_values(ReturnValue::AllNew);
        let mut expression = match to {
            To::Status(status) => {
                update = update.expression_attribute_values(":to", s(status));
                String::from("SET #status = :to")
            }
            To::Outcome => {
                condition.push_str(" AND onConfirm <> :noAnswer");
                update = update.expression_attribute_values(":noAnswer", s(NO_ANSWER));
                String::from("SET #status = onConfirm")
            }
        };
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
            .condition_expression(condition)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(output.attributes.unwrap_or_default())),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable(StoreError::from_sdk(e))),
        }
    }
}

/// The status a transition sets.
enum To<'a> {
    Status(&'a str),
    /// What the card does when charged, decided by its test id at creation
    /// (`onConfirm`).
    Outcome,
}

fn unavailable(error: StoreError) -> PaymentError {
    PaymentError::Unavailable(error.to_string())
}

/// `onConfirm` of a card whose charge never gets an answer.
const NO_ANSWER: &str = "no_answer";

/// What a card does when charged: the status it leads to, and the
/// issuer's reason when it is refused.
fn outcome(payment_method: &str) -> (&'static str, Option<(&'static str, &'static str)>) {
    match payment_method {
        test_methods::DECLINED => (DECLINED, Some(("card_declined", "Your card was declined."))),
        test_methods::INSUFFICIENT_FUNDS => (
            DECLINED,
            Some(("insufficient_funds", "Your card has insufficient funds.")),
        ),
        test_methods::TIMEOUT => (NO_ANSWER, None),
        _ => (SUCCEEDED, None),
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
        let mut item = Item::from([
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
        let (on_confirm, decline) = outcome(&request.payment_method);
        item.insert("onConfirm".into(), s(on_confirm));
        if let Some((code, message)) = decline {
            item.insert("declineCode".into(), s(code));
            item.insert("declineMessage".into(), s(message));
        }
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
        let at = s(crate::time::format(self.store.clock.now()));
        let charged = self
            .transition(id, &[UNCONFIRMED, DECLINED], To::Outcome, &[("confirmedAt", at)])
            .await?;
        if let Some(item) = charged {
            fail::fail_point!("payments-confirm-answer-lost", |_| Err(PaymentError::Unavailable(
                "the answer to the confirmation was lost (injected)".into()
            )));
            return Ok(payment_from_item(&item)?.state);
        }
        // Decided before (charged, cancelled, ...), or a card that never answers.
        let item = self
            .stored(Self::key_of(id)?)
            .await?
            .ok_or_else(|| PaymentError::Rejected(format!("no such payment: {id}")))?;
        let payment = payment_from_item(&item)?;
        let undecided = matches!(payment.state, PaymentState::Unconfirmed | PaymentState::Declined { .. });
        if undecided && Attrs::new(&item).opt_s("onConfirm") == Some(NO_ANSWER) {
            return Err(PaymentError::Unavailable("the simulated provider timed out".into()));
        }
        Ok(payment.state)
    }

    async fn retrieve(&self, id: &PaymentId) -> Result<Payment, PaymentError> {
        self.payment(id).await
    }

    async fn cancel(&self, id: &PaymentId) -> Result<PaymentState, PaymentError> {
        match self
            .transition(id, &[UNCONFIRMED, DECLINED], To::Status(CANCELLED), &[])
            .await?
        {
            Some(item) => Ok(payment_from_item(&item)?.state),
            // Charged (or cancelled) before: say which.
            None => Ok(self.payment(id).await?.state),
        }
    }

    async fn refund(&self, id: &PaymentId) -> Result<Refund, PaymentError> {
        fail::fail_point!("payments-refund-unavailable", |_| Err(PaymentError::Unavailable(
            "the provider is down (injected); nothing was refunded".into()
        )));
        let refund_id = format!("re_sim_{}", Self::key_of(id)?);
        let at = s(crate::time::format(self.store.clock.now()));
        // The first refund wins; a later one finds the payment refunded.
        let refunded = self
            .transition(
                id,
                &[SUCCEEDED],
                To::Status(SUCCEEDED),
                &[("refundId", s(&refund_id)), ("refundedAt", at)],
            )
            .await?
            .ok_or_else(|| PaymentError::Rejected(format!("no successful charge {id} to refund")))?;
        fail::fail_point!("payments-refund-answer-lost", |_| Err(PaymentError::Unavailable(
            "the answer to the refund was lost (injected)".into()
        )));
        let id = Attrs::new(&refunded).opt_s("refundId").unwrap_or(&refund_id).to_owned();
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
