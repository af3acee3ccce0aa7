//! What a payment is, whoever moves the money: its id, its state as the
//! provider reports it, and what it is for. The providers themselves are in
//! the `shop-payments` crate.

use crate::money::Money;
use serde::{Deserialize, Serialize};

/// The provider's id of a payment (a PaymentIntent id for Stripe).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentId(String);

impl PaymentId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PaymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a payment is for, kept with it at the provider (Stripe `metadata`),
/// so that the audit and the reconciler can find the order and the checkout
/// behind any payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTags {
    pub order_id: String,
    pub user_id: String,
    /// The shopper's `Idempotency-Key` of the checkout.
    pub checkout_key: String,
}

/// A payment to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The provider-side idempotency key of the creation: the same key with
    /// the same request names the same payment.
    pub key: String,
    pub amount: Money,
    /// The provider's payment method id (e.g. `pm_card_visa`).
    pub payment_method: String,
    /// Shown on the provider's dashboard.
    pub description: String,
    pub tags: PaymentTags,
}

/// Where a payment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    /// Created, never charged: no money has moved.
    Unconfirmed,
    /// The provider is still deciding (Stripe's `processing`): money may move.
    Processing,
    /// The card was charged and nothing was refunded.
    Succeeded,
    /// Charged, then refunded in full (or the refund is under way).
    Refunded,
    /// The card was refused; nothing was charged. `code` is the provider's
    /// reason (`card_declined`, `insufficient_funds`, ...).
    Declined { code: String, message: String },
    /// Cancelled before it was charged: it can never be charged now.
    Cancelled,
}

impl PaymentState {
    /// Whether the shop holds the shopper's money through this payment.
    pub fn is_captured(&self) -> bool {
        matches!(self, Self::Succeeded)
    }
}

/// A payment as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub amount: Money,
    pub state: PaymentState,
    /// `None` for a payment the shop did not create (e.g. made by hand in
    /// Stripe's dashboard).
    pub tags: Option<PaymentTags>,
}

/// A refund of a whole payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The provider did not answer, or answered that it is busy: whatever
    /// was asked may or may not have happened. Reading the payment back
    /// tells.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request itself (bad key, bad configuration,
    /// an idempotency key reused with other parameters, a refund of a
    /// payment never charged): a bug, not the card.
    #[error("the payment provider refused the request: {0}")]
    Rejected(String),
}

/// A payment method id as the shopper's client sends it (`pm_…`, issued by
/// the provider's client library; the test ids are Stripe's).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PaymentMethodId(String);

impl PaymentMethodId {
    pub fn parse(value: &str) -> Result<Self, String> {
        let valid = value.starts_with("pm_")
            && value.len() <= 255
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be a payment method id such as \"pm_card_visa\"".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PaymentMethodId {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<PaymentMethodId> for String {
    fn from(id: PaymentMethodId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_method_ids_are_pm_ids_of_letters_digits_and_underscores() {
        assert!(PaymentMethodId::parse("pm_card_visa").is_ok());
        for bad in [
            "",
            "card_visa",
            "pm_card visa",
            "pm_é",
            &format!("pm_{}", "a".repeat(253)),
        ] {
            assert!(PaymentMethodId::parse(bad).is_err(), "{bad}");
        }
    }
}
