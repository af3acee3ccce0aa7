//! The local payment provider: payments kept as items in the shop's table
//! (`CHARGE#<key>`, through `shop_store::charges::ChargeBook`), so that a repeated key finds the first payment even
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

use super::{PaymentProvider, test_methods};
use shop_domain::payment::{Payment, PaymentError, PaymentId, PaymentRequest, PaymentState, Refund};
use shop_domain::time::{self as clock, Timestamp};
use shop_store::charges::{Charge, ChargeBook, ChargeMove};
use shop_store::{DynamoStore, StoreError};

/// Payment ids carry the key they were created under, so every call finds its item.
const PAYMENT_ID_PREFIX: &str = "pi_sim_";

/// The `status` attribute, named as Stripe names a PaymentIntent's status.
const UNCONFIRMED: &str = "requires_confirmation";
const DECLINED: &str = "requires_payment_method";
const SUCCEEDED: &str = "succeeded";
const CANCELLED: &str = "canceled";

/// `onConfirm` of a card whose charge never gets an answer.
const NO_ANSWER: &str = "no_answer";

/// The simulated provider, keeping its charges in `S` (the shop's table).
#[derive(Debug, Clone)]
pub struct SimulatedProvider<S = DynamoStore> {
    charges: S,
}

impl<S: ChargeBook + Sync> SimulatedProvider<S> {
    pub fn new(charges: S) -> Self {
        Self { charges }
    }

    fn key_of(payment: &PaymentId) -> Result<&str, PaymentError> {
        payment
            .as_str()
            .strip_prefix(PAYMENT_ID_PREFIX)
            .ok_or_else(|| PaymentError::Rejected(format!("{payment} is not a simulated payment")))
    }

    async fn stored(&self, id: &PaymentId) -> Result<Charge, PaymentError> {
        self.charges
            .charge(Self::key_of(id)?)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PaymentError::Rejected(format!("no such payment: {id}")))
    }

    /// Moves a payment from a status in `from` as `to` says (with `set_once`
    /// attributes), answering the charge as it is after; `None` if it was in
    /// no status of `from` (or, for its confirmation, its card never answers).
    async fn transition(
        &self,
        id: &PaymentId,
        from: &[&str],
        to: ChargeMove<'_>,
        set_once: &[(&str, String)],
    ) -> Result<Option<Charge>, PaymentError> {
        self.charges
            .move_charge(Self::key_of(id)?, from, to, set_once)
            .await
            .map_err(unavailable)
    }
}

fn unavailable(error: StoreError) -> PaymentError {
    PaymentError::Unavailable(error.to_string())
}

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

fn payment_of(charge: &Charge) -> Result<Payment, PaymentError> {
    let state = match charge.status.as_str() {
        UNCONFIRMED => PaymentState::Unconfirmed,
        SUCCEEDED if charge.refund_id.is_some() => PaymentState::Refunded,
        SUCCEEDED => PaymentState::Succeeded,
        CANCELLED => PaymentState::Cancelled,
        DECLINED => {
            let (code, message) = charge
                .decline
                .clone()
                .unwrap_or_else(|| ("card_declined".into(), "declined".into()));
            PaymentState::Declined { code, message }
        }
        other => return Err(PaymentError::Rejected(format!("unknown payment status {other}"))),
    };
    Ok(Payment {
        id: PaymentId::new(&charge.payment_id),
        amount: charge.amount,
        state,
        tags: charge.tags.clone(),
    })
}

impl<S: ChargeBook + Sync> PaymentProvider for SimulatedProvider<S> {
    async fn create(&self, request: &PaymentRequest) -> Result<PaymentId, PaymentError> {
        let id = PaymentId::new(format!("{PAYMENT_ID_PREFIX}{}", request.key));
        let (on_confirm, decline) = outcome(&request.payment_method);
        let charge = Charge {
            payment_id: id.to_string(),
            status: UNCONFIRMED.into(),
            amount: request.amount,
            payment_method: request.payment_method.clone(),
            description: request.description.clone(),
            tags: Some(request.tags.clone()),
            on_confirm: on_confirm.into(),
            decline: decline.map(|(code, message)| (code.into(), message.into())),
            refund_id: None,
        };
        if self
            .charges
            .add_charge(&request.key, &charge)
            .await
            .map_err(unavailable)?
        {
            return Ok(id);
        }
        // Created before under this key: the same payment, if the same request.
        let first = self
            .charges
            .charge(&request.key)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PaymentError::Unavailable("a payment vanished while being read".into()))?;
        if first.amount.amount == request.amount.amount && first.payment_method == request.payment_method {
            Ok(id)
        } else {
            Err(PaymentError::Rejected(format!(
                "idempotency key {} was first used with other parameters",
                request.key
            )))
        }
    }

    async fn confirm(&self, id: &PaymentId) -> Result<PaymentState, PaymentError> {
        let at = clock::format(self.charges.now());
        let charged = self
            .transition(
                id,
                &[UNCONFIRMED, DECLINED],
                ChargeMove::ToOnConfirmUnless(NO_ANSWER),
                &[("confirmedAt", at)],
            )
            .await?;
        if let Some(charge) = charged {
            fail::fail_point!("payments-confirm-answer-lost", |_| Err(PaymentError::Unavailable(
                "the answer to the confirmation was lost (injected)".into()
            )));
            return Ok(payment_of(&charge)?.state);
        }
        // Decided before (charged, cancelled, ...), or a card that never answers.
        let charge = self.stored(id).await?;
        let payment = payment_of(&charge)?;
        let undecided = matches!(payment.state, PaymentState::Unconfirmed | PaymentState::Declined { .. });
        if undecided && charge.on_confirm == NO_ANSWER {
            return Err(PaymentError::Unavailable("the simulated provider timed out".into()));
        }
        Ok(payment.state)
    }

    async fn retrieve(&self, id: &PaymentId) -> Result<Payment, PaymentError> {
        payment_of(&self.stored(id).await?)
    }

    async fn cancel(&self, id: &PaymentId) -> Result<PaymentState, PaymentError> {
        let cancelled = self
            .transition(id, &[UNCONFIRMED, DECLINED], ChargeMove::To(CANCELLED), &[])
            .await?;
        match cancelled {
            Some(charge) => Ok(payment_of(&charge)?.state),
            // Charged (or cancelled) before: say which.
            None => Ok(self.retrieve(id).await?.state),
        }
    }

    async fn refund(&self, id: &PaymentId) -> Result<Refund, PaymentError> {
        fail::fail_point!("payments-refund-unavailable", |_| Err(PaymentError::Unavailable(
            "the provider is down (injected); nothing was refunded".into()
        )));
        let refund_id = format!("re_sim_{}", Self::key_of(id)?);
        let at = clock::format(self.charges.now());
        // The first refund wins; a later one finds the payment refunded.
        let refunded = self
            .transition(
                id,
                &[SUCCEEDED],
                ChargeMove::To(SUCCEEDED),
                &[("refundId", refund_id.clone()), ("refundedAt", at)],
            )
            .await?
            .ok_or_else(|| PaymentError::Rejected(format!("no successful charge {id} to refund")))?;
        fail::fail_point!("payments-refund-answer-lost", |_| Err(PaymentError::Unavailable(
            "the answer to the refund was lost (injected)".into()
        )));
        Ok(Refund {
            id: refunded.refund_id.unwrap_or(refund_id),
        })
    }

    async fn list(&self, since: Timestamp) -> Result<Vec<Payment>, PaymentError> {
        let charges = self.charges.charges_since(since).await.map_err(unavailable)?;
        charges.iter().map(payment_of).collect()
    }
}
