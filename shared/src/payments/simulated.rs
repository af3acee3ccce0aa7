//! The local payment provider: charges kept as items in the shop's table
//! (`CHARGE#<key>`), so that a replayed key finds the first answer even
//! after the runner restarts, and tests can count real charges and refunds.
//! It reacts to the test payment method ids in [`super::test_methods`]; any
//! other `pm_…` id succeeds like a valid card.

use super::{Charge, ChargeRequest, PaymentError, PaymentProvider, Refund, test_methods};
use crate::money::{Currency, Money};
use crate::store::keys::{self, PK, SK};
use crate::store::{Attrs, DynamoStore, Item, StoreError, condition_failed, n, s};
use aws_sdk_dynamodb::types::ReturnValue;

/// Charge ids carry the key they were made under, so a refund finds its item.
const CHARGE_ID_PREFIX: &str = "ch_sim_";

#[derive(Debug, Clone)]
pub struct SimulatedProvider {
    store: DynamoStore,
}

impl SimulatedProvider {
    pub fn new(store: DynamoStore) -> Self {
        Self { store }
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

/// The answer a stored charge item gives, refusing a key reused with other parameters.
fn answer(item: &Item, request: &ChargeRequest) -> Result<Charge, PaymentError> {
    let a = Attrs::new(item);
    let read = |e: StoreError| PaymentError::Rejected(e.to_string());
    let amount = Money::new(
        a.n("amount").map_err(read)?,
        a.parsed("currency", Currency::parse).map_err(read)?,
    );
    let method = a.s("paymentMethod").map_err(read)?;
    if amount != request.amount || method != request.payment_method {
        return Err(PaymentError::Rejected(format!(
            "idempotency key {} was first used with other parameters",
            request.key
        )));
    }
    match a.opt_s("declineCode") {
        Some(code) => Err(PaymentError::Declined {
            code: code.to_owned(),
            message: a.opt_s("declineMessage").unwrap_or("declined").to_owned(),
        }),
        None => Ok(Charge {
            id: a.s("chargeId").map_err(read)?.to_owned(),
            amount,
        }),
    }
}

impl PaymentProvider for SimulatedProvider {
    async fn charge(&self, request: &ChargeRequest) -> Result<Charge, PaymentError> {
        if request.payment_method == test_methods::TIMEOUT {
            return Err(PaymentError::Unavailable("the simulated provider timed out".into()));
        }
        if let Some(item) = self.stored(&request.key).await? {
            return answer(&item, request);
        }
        let mut item = Item::from([
            (PK.into(), s(keys::charge_pk(&request.key))),
            (SK.into(), s(keys::CHARGE_SK)),
            ("entity".into(), s("SimulatedCharge")),
            ("chargeId".into(), s(format!("{CHARGE_ID_PREFIX}{}", request.key))),
            ("amount".into(), n(request.amount.amount)),
            ("currency".into(), s(request.amount.currency.as_str())),
            ("paymentMethod".into(), s(&request.payment_method)),
            ("description".into(), s(&request.description)),
            ("createdAt".into(), s(crate::time::format(self.store.clock.now()))),
        ]);
        if let Err((code, message)) = outcome(&request.payment_method) {
            item.insert("declineCode".into(), s(code));
            item.insert("declineMessage".into(), s(message));
        }
        let put = self
            .store
            .client
            .put_item()
            .table_name(&self.store.table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => answer(&item, request),
            // A concurrent call with the same key got there first: its answer is ours.
            Err(e) if condition_failed(&e) => {
                let item = self
                    .stored(&request.key)
                    .await?
                    .ok_or_else(|| PaymentError::Unavailable("a charge vanished while being read".into()))?;
                answer(&item, request)
            }
            Err(e) => Err(unavailable(StoreError::from_sdk(e))),
        }
    }

    async fn refund(&self, key: &str, charge: &Charge) -> Result<Refund, PaymentError> {
        let charge_key = charge
            .id
            .strip_prefix(CHARGE_ID_PREFIX)
            .ok_or_else(|| PaymentError::Rejected(format!("{} is not a simulated charge", charge.id)))?;
        let refund_id = format!("re_sim_{key}");
        let output = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, s(keys::charge_pk(charge_key)))
            .key(SK, s(keys::CHARGE_SK))
            // The first refund wins; later ones (any key) find it refunded.
            .update_expression(
                "SET refundId = if_not_exists(refundId, :id), refundedAt = if_not_exists(refundedAt, :at)",
            )
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(declineCode)")
            .expression_attribute_values(":id", s(&refund_id))
            .expression_attribute_values(":at", s(crate::time::format(self.store.clock.now())))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match output {
            Ok(output) => {
                let attributes = output.attributes.unwrap_or_default();
                let id = Attrs::new(&attributes)
                    .s("refundId")
                    .map_err(|e| PaymentError::Rejected(e.to_string()))?;
                Ok(Refund { id: id.to_owned() })
            }
            Err(e) if condition_failed(&e) => Err(PaymentError::Rejected(format!(
                "no successful charge {} to refund",
                charge.id
            ))),
            Err(e) => Err(unavailable(StoreError::from_sdk(e))),
        }
    }
}
