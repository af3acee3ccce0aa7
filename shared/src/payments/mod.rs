//! Payments: the provider that moves the money, behind one narrow trait.
//!
//! - [`stripe`]: Stripe's HTTP API (PaymentIntents and Refunds), for AWS.
//! - [`simulated`]: a provider that keeps its charges in the shop's table and
//!   reacts to test payment method ids; the local default.
//!
//! Every call carries an idempotency key chosen by the caller: the same key
//! with the same request returns the first answer and never moves money
//! twice. Checkout derives the key from the shopper's `Idempotency-Key`, so a
//! retried checkout reuses its charge.

pub mod simulated;
pub mod stripe;

use crate::money::Money;
use crate::store::DynamoStore;
use std::future::Future;

/// Test payment method ids both providers understand (they are Stripe's own
/// test ids, so the storefront can use them against Stripe's test mode too).
pub mod test_methods {
    /// Always succeeds.
    pub const VISA: &str = "pm_card_visa";
    /// Declined by the issuer (`card_declined`).
    pub const DECLINED: &str = "pm_card_chargeDeclined";
    /// Declined for insufficient funds.
    pub const INSUFFICIENT_FUNDS: &str = "pm_card_chargeDeclinedInsufficientFunds";
    /// Simulated provider only: the provider does not answer in time (nothing is charged).
    pub const TIMEOUT: &str = "pm_card_simulatedTimeout";
}

/// What to charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// The provider-side idempotency key.
    pub key: String,
    pub amount: Money,
    /// The provider's payment method id (e.g. `pm_card_visa`).
    pub payment_method: String,
    /// Shown on the provider's dashboard, e.g. the order id.
    pub description: String,
}

/// A successful charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The provider's id (a PaymentIntent id for Stripe).
    pub id: String,
    pub amount: Money,
}

/// A refund of a whole charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card was refused; nothing was charged. `code` is the provider's
    /// reason (`card_declined`, `insufficient_funds`, ...).
    #[error("the payment was declined: {message}")]
    Declined { code: String, message: String },
    /// The provider did not answer, or answered that it is busy: the money
    /// may or may not have moved. Retrying with the same key finds out.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request itself (bad key, bad configuration,
    /// an idempotency key reused with other parameters): a bug, not the card.
    #[error("the payment provider refused the request: {0}")]
    Rejected(String),
}

/// A payment provider.
pub trait PaymentProvider {
    /// Charges `request.amount`; the same `request.key` with the same request
    /// returns the same charge without charging again.
    fn charge(&self, request: &ChargeRequest) -> impl Future<Output = Result<Charge, PaymentError>> + Send;

    /// Refunds all of `charge`; the same `key` never refunds twice, and a
    /// charge already refunded counts as refunded.
    fn refund(&self, key: &str, charge: &Charge) -> impl Future<Output = Result<Refund, PaymentError>> + Send;
}

/// Which provider a function uses (from `Config`).
#[derive(Clone, PartialEq, Eq)]
pub enum PaymentSettings {
    Simulated,
    Stripe { api_key: String, base_url: String },
}

impl std::fmt::Debug for PaymentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Simulated => f.write_str("Simulated"),
            Self::Stripe { base_url, .. } => write!(f, "Stripe({base_url})"),
        }
    }
}

/// The configured provider.
#[derive(Debug, Clone)]
pub enum Payments {
    Simulated(simulated::SimulatedProvider),
    Stripe(stripe::StripeProvider),
}

impl Payments {
    /// The provider `settings` name; the simulated one keeps its charges in `store`'s table.
    pub fn new(settings: &PaymentSettings, store: &DynamoStore) -> Self {
        match settings {
            PaymentSettings::Simulated => Self::Simulated(simulated::SimulatedProvider::new(store.clone())),
            PaymentSettings::Stripe { api_key, base_url } => {
                Self::Stripe(stripe::StripeProvider::new(api_key.clone(), base_url.clone()))
            }
        }
    }
}

impl PaymentProvider for Payments {
    async fn charge(&self, request: &ChargeRequest) -> Result<Charge, PaymentError> {
        match self {
            Self::Simulated(p) => p.charge(request).await,
            Self::Stripe(p) => p.charge(request).await,
        }
    }

    async fn refund(&self, key: &str, charge: &Charge) -> Result<Refund, PaymentError> {
        match self {
            Self::Simulated(p) => p.refund(key, charge).await,
            Self::Stripe(p) => p.refund(key, charge).await,
        }
    }
}
