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

use shop_domain::payment::{Payment, PaymentError, PaymentId, PaymentRequest, PaymentState, Refund};
use shop_domain::settings::ConfigError;
use shop_domain::time::Timestamp;
use shop_store::DynamoStore;
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

/// Which provider a function uses: `PAYMENT_PROVIDER` is `simulated` (the
/// default) or `stripe`, with `STRIPE_API_KEY` and optionally
/// `STRIPE_API_BASE`. In AWS the key is not in the environment: it is read
/// from Secrets Manager at init ([`PaymentSettings::load`]).
#[derive(Clone, PartialEq, Eq)]
pub enum PaymentSettings {
    Simulated,
    Stripe { api_key: String, base_url: String },
}

impl PaymentSettings {
    /// From any source of variables; the local runner passes each function's
    /// variables from template.yaml.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &'static str| lookup(name).filter(|v| !v.is_empty());
        let required = |name: &'static str| optional(name).ok_or(ConfigError::Missing(name));
        match optional("PAYMENT_PROVIDER").as_deref() {
            None | Some("simulated") => Ok(Self::Simulated),
            Some("stripe") => Ok(Self::Stripe {
                api_key: required("STRIPE_API_KEY")?,
                base_url: optional("STRIPE_API_BASE").unwrap_or_else(|| stripe::DEFAULT_BASE_URL.to_owned()),
            }),
            Some(other) => Err(ConfigError::Invalid {
                name: "PAYMENT_PROVIDER",
                value: other.to_owned(),
                expected: "simulated or stripe",
            }),
        }
    }
}

/// The variable naming the Secrets Manager secret that holds the Stripe key
/// (template.yaml sets it from `StripeSecretArn`).
pub const STRIPE_SECRET_ARN: &str = "STRIPE_SECRET_ARN";

impl PaymentSettings {
    /// As [`PaymentSettings::from_lookup`], but with the Stripe key read,
    /// once, from the Secrets Manager secret `STRIPE_SECRET_ARN` names when
    /// it names one: so in AWS the key is in no environment variable, no
    /// template parameter and no log. The function's role may read only
    /// that secret.
    pub async fn load(
        lookup: impl Fn(&str) -> Option<String>,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let secret = lookup(STRIPE_SECRET_ARN).filter(|arn| !arn.is_empty());
        let stripe = lookup("PAYMENT_PROVIDER").as_deref() == Some("stripe");
        let Some(arn) = secret.filter(|_| stripe) else {
            return Ok(Self::from_lookup(lookup)?);
        };
        let client = aws_sdk_secretsmanager::Client::new(sdk);
        let answer = client.get_secret_value().secret_id(&arn).send().await.map_err(|e| {
            format!(
                "reading the Stripe key from {arn}: {}",
                shop_domain::report::error_chain(&e)
            )
        })?;
        let key = answer
            .secret_string()
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or_else(|| format!("secret {arn} holds no Stripe key (SecretString is empty)"))?
            .to_owned();
        Ok(Self::from_lookup(|name| match name {
            "STRIPE_API_KEY" => Some(key.clone()),
            _ => lookup(name),
        })?)
    }
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
    /// The provider the environment `lookup` reads names, its key read
    /// from Secrets Manager in AWS ([`PaymentSettings::load`]).
    pub async fn load(
        lookup: impl Fn(&str) -> Option<String>,
        sdk: &aws_config::SdkConfig,
        store: &DynamoStore,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self::new(&PaymentSettings::load(lookup, sdk).await?, store))
    }

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
