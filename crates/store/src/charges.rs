//! The simulated payment provider's charges, kept as items in the shop's
//! table (`CHARGE#<key>`) so that a repeated key finds the first charge even
//! after the runner restarts. The provider (`shop_payments::simulated`)
//! decides what its statuses mean; this stores them and moves them only
//! under a condition, so two callers never both win a transition.

use super::keys::{self, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, condition_failed, n, s};
use aws_sdk_dynamodb::types::ReturnValue;
use shop_domain::money::{Currency, Money};
use shop_domain::payment::PaymentTags;
use shop_domain::time::{self as clock, Now};
use std::future::Future;

/// One simulated charge, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub payment_id: String,
    /// The provider's status name.
    pub status: String,
    pub amount: Money,
    pub payment_method: String,
    pub description: String,
    pub tags: Option<PaymentTags>,
    /// The status confirming leads to, decided when the charge is created.
    pub on_confirm: String,
    /// The issuer's reason when the card is refused: code and message.
    pub decline: Option<(String, String)>,
    pub refund_id: Option<String>,
}

/// Where a transition moves a charge's status.
#[derive(Debug, Clone, Copy)]
pub enum ChargeMove<'a> {
    To(&'a str),
    /// To its `on_confirm` status, unless that is `unless` (a card that
    /// never answers).
    ToOnConfirmUnless(&'a str),
}

/// What the simulated payment provider needs of the table.
pub trait ChargeBook: Now {
    /// Stores a new charge under `key`; `false` if one is there already.
    fn add_charge(&self, key: &str, charge: &Charge) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The charge under `key`, read consistently.
    fn charge(&self, key: &str) -> impl Future<Output = Result<Option<Charge>, StoreError>> + Send;

    /// Moves the charge under `key` from a status in `from` as `to` says,
    /// setting each of `set_once` unless already set; the charge as it is
    /// after, or `None` if its status was in none of `from` (or the move was
    /// to its `on_confirm` status, and that is the one excluded).
    fn move_charge(
        &self,
        key: &str,
        from: &[&str],
        to: ChargeMove<'_>,
        set_once: &[(&str, String)],
    ) -> impl Future<Output = Result<Option<Charge>, StoreError>> + Send;

    /// Every charge created at or after `since` (a filtered scan: the local
    /// runner's audit only, never a hot path).
    fn charges_since(&self, since: clock::Timestamp) -> impl Future<Output = Result<Vec<Charge>, StoreError>> + Send;
}

fn charge_item(key: &str, charge: &Charge, created_at: clock::Timestamp) -> Item {
    let mut item = Item::from([
        (PK.into(), s(keys::charge_pk(key))),
        (SK.into(), s(keys::CHARGE_SK)),
        ("entity".into(), s("SimulatedPayment")),
        ("paymentId".into(), s(&charge.payment_id)),
        ("status".into(), s(&charge.status)),
        ("amount".into(), n(charge.amount.amount)),
        ("currency".into(), s(charge.amount.currency.as_str())),
        ("paymentMethod".into(), s(&charge.payment_method)),
        ("description".into(), s(&charge.description)),
        ("onConfirm".into(), s(&charge.on_confirm)),
        ("createdAt".into(), s(clock::format(created_at))),
    ]);
    if let Some(tags) = &charge.tags {
        item.insert("orderId".into(), s(&tags.order_id));
        item.insert("userId".into(), s(&tags.user_id));
        item.insert("checkoutKey".into(), s(&tags.checkout_key));
    }
    if let Some((code, message)) = &charge.decline {
        item.insert("declineCode".into(), s(code));
        item.insert("declineMessage".into(), s(message));
    }
    if let Some(refund) = &charge.refund_id {
        item.insert("refundId".into(), s(refund));
    }
    item
}

fn charge_from_item(item: &Item) -> Result<Charge, StoreError> {
    let a = Attrs::new(item);
    let owned = |name: &str| a.opt_s(name).map(str::to_owned);
    let tags = match (a.opt_s("orderId"), a.opt_s("userId"), a.opt_s("checkoutKey")) {
        (Some(order), Some(user), Some(key)) => Some(PaymentTags {
            order_id: order.to_owned(),
            user_id: user.to_owned(),
            checkout_key: key.to_owned(),
        }),
        _ => None,
    };
    Ok(Charge {
        payment_id: a.s("paymentId")?.to_owned(),
        status: a.s("status")?.to_owned(),
        amount: Money::new(a.n("amount")?, a.parsed("currency", Currency::parse)?),
        payment_method: owned("paymentMethod").unwrap_or_default(),
        description: owned("description").unwrap_or_default(),
        tags,
        on_confirm: owned("onConfirm").unwrap_or_default(),
        decline: owned("declineCode").zip(owned("declineMessage")),
        refund_id: owned("refundId"),
    })
}

impl ChargeBook for DynamoStore {
    async fn add_charge(&self, key: &str, charge: &Charge) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(charge_item(key, charge, self.now())))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    async fn charge(&self, key: &str) -> Result<Option<Charge>, StoreError> {
        self.get(keys::charge_pk(key), keys::CHARGE_SK)
            .await?
            .as_ref()
            .map(charge_from_item)
            .transpose()
    }

    async fn move_charge(
        &self,
        key: &str,
        from: &[&str],
        to: ChargeMove<'_>,
        set_once: &[(&str, String)],
    ) -> Result<Option<Charge>, StoreError> {
        let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut condition = format!("#status IN ({})", allowed.join(", "));
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::charge_pk(key)))
            .key(SK, s(keys::CHARGE_SK))
            .expression_attribute_names("#status", "status")
            .return_values(ReturnValue::AllNew);
        let mut expression = match to {
            ChargeMove::To(status) => {
                update = update.expression_attribute_values(":to", s(status));
                String::from("SET #status = :to")
            }
            ChargeMove::ToOnConfirmUnless(excluded) => {
                condition.push_str(" AND onConfirm <> :excluded");
                update = update.expression_attribute_values(":excluded", s(excluded));
                String::from("SET #status = onConfirm")
            }
        };
        for (name, value) in allowed.iter().zip(from) {
            update = update.expression_attribute_values(name, s(*value));
        }
        for (i, (name, value)) in set_once.iter().enumerate() {
            expression.push_str(&format!(", #x{i} = if_not_exists(#x{i}, :x{i})"));
            update = update
                .expression_attribute_names(format!("#x{i}"), *name)
                .expression_attribute_values(format!(":x{i}"), s(value));
        }
        let result = update
            .update_expression(expression)
            .condition_expression(condition)
            .send()
            .await;
        match result {
            Ok(output) => charge_from_item(&output.attributes.unwrap_or_default()).map(Some),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    async fn charges_since(&self, since: clock::Timestamp) -> Result<Vec<Charge>, StoreError> {
        // The charges are spread over the table; a filtered scan finds them.
        let items: Vec<Item> = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(#pk, :charge) AND createdAt >= :since")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":charge", s(keys::charge_pk("")))
            .expression_attribute_values(":since", s(clock::format(since)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(StoreError::from_sdk)?;
        items.iter().map(charge_from_item).collect()
    }
}
