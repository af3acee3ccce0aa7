//! Payments: the provider that moves the money, behind one narrow trait.
//!
//! - [`stripe`]: Stripe's HTTP API (PaymentIntents and Refunds), for AWS.
//! - [`simulated`]: a provider that keeps its payments in the shop's table and
//!   reacts to test payment method ids; the local default.
//!
//! A payment is made in two steps, as Stripe's PaymentIntents are: `create`
//! names it (no money moves; the same key returns the same payment), then
//! `confirm` charges the card. A payment is charged at most once however
//! often it is confirmed, so its id, noted before the card is charged, is
//! what a retry or the reconciler uses to learn what happened: they read the
//! payment back (`retrieve`) instead of sending the charge again, because
//! Stripe answers a repeated idempotency key with the first answer it gave,
//! even a 5xx, for 24 hours.

pub mod simulated;
pub mod stripe;

use crate::money::Money;
use crate::store::DynamoStore;
use crate::time::Timestamp;
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
    /// Simulated provider only: confirming gets no answer in time (nothing is charged).
    pub const TIMEOUT: &str = "pm_card_simulatedTimeout";
}

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

/// A payment provider.
pub trait PaymentProvider {
    /// Creates a payment without charging it; the same `request.key` with
    /// the same request returns the same payment.
    fn create(&self, request: &PaymentRequest) -> impl Future<Output = Result<PaymentId, PaymentError>> + Send;

    /// Charges the payment's card and says where the payment stands after.
    /// Confirming again never charges twice: a payment that succeeded (or
    /// was refunded, or cancelled) answers with that state.
    fn confirm(&self, payment: &PaymentId) -> impl Future<Output = Result<PaymentState, PaymentError>> + Send;

    /// Reads the payment back, as it is now (never a replayed answer).
    fn retrieve(&self, payment: &PaymentId) -> impl Future<Output = Result<Payment, PaymentError>> + Send;

    /// Makes a payment that was not charged impossible to charge later. A
    /// payment that was charged meanwhile answers with its state instead.
    fn cancel(&self, payment: &PaymentId) -> impl Future<Output = Result<PaymentState, PaymentError>> + Send;

    /// Refunds all of a charged payment. Refunding again is harmless: a
    /// refunded payment answers with its refund.
    fn refund(&self, payment: &PaymentId) -> impl Future<Output = Result<Refund, PaymentError>> + Send;

    /// Every payment created at or after `since`, for the ledger audit.
    fn list(&self, since: Timestamp) -> impl Future<Output = Result<Vec<Payment>, PaymentError>> + Send;
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
    /// The provider `settings` name; the simulated one keeps its payments in `store`'s table.
    pub fn new(settings: &PaymentSettings, store: &DynamoStore) -> Self {
        match settings {
            PaymentSettings::Simulated => Self::Simulated(simulated::SimulatedProvider::new(store.clone())),
            PaymentSettings::Stripe { api_key, base_url } => {
                Self::Stripe(stripe::StripeProvider::new(api_key.clone(), base_url.clone()))
            }
        }
    }
}

/// Calls the same method on whichever provider is configured.
macro_rules! delegate {
    ($self:ident, $p:ident => $call:expr) => {
        match $self {
            Self::Simulated($p) => $call.await,
            Self::Stripe($p) => $call.await,
        }
    };
}

impl PaymentProvider for Payments {
    async fn create(&self, request: &PaymentRequest) -> Result<PaymentId, PaymentError> {
        delegate!(self, p => p.create(request))
    }

    async fn confirm(&self, payment: &PaymentId) -> Result<PaymentState, PaymentError> {
        delegate!(self, p => p.confirm(payment))
    }

    async fn retrieve(&self, payment: &PaymentId) -> Result<Payment, PaymentError> {
        delegate!(self, p => p.retrieve(payment))
    }

    async fn cancel(&self, payment: &PaymentId) -> Result<PaymentState, PaymentError> {
        delegate!(self, p => p.cancel(payment))
    }

    async fn refund(&self, payment: &PaymentId) -> Result<Refund, PaymentError> {
        delegate!(self, p => p.refund(payment))
    }

    async fn list(&self, since: Timestamp) -> Result<Vec<Payment>, PaymentError> {
        delegate!(self, p => p.list(since))
    }
}
