//! A function's configuration, read from its environment variables (set in
//! template.yaml, or by the local runner from the same definitions).

use shop_domain::settings::ConfigError;

/// Configuration every function reads at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The shop's single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The queues a worker sends to, where it has any.
    pub queues: Queues,
}

/// Queue URLs (`SEARCH_INDEX_QUEUE_URL`, `RECOMMENDATION_QUEUE_URL`,
/// `LIVE_STOCK_QUEUE_URL`, `RATING_QUEUE_URL`, `EMAIL_QUEUE_URL`,
/// `LIVE_ORDER_QUEUE_URL`, `RELAY_DEAD_LETTER_QUEUE_URL`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queues {
    pub search_index: Option<String>,
    pub recommendations: Option<String>,
    pub live_stock: Option<String>,
    pub ratings: Option<String>,
    pub email: Option<String>,
    pub live_orders: Option<String>,
    pub relay_dead_letter: Option<String>,
}

impl Config {
    /// From the process environment, as in Lambda.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any source of variables; the local runner passes each function's
    /// variables from template.yaml.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &'static str| lookup(name).filter(|v| !v.is_empty());
        let required = |name: &'static str| optional(name).ok_or(ConfigError::Missing(name));
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            queues: Queues {
                search_index: optional("SEARCH_INDEX_QUEUE_URL"),
                recommendations: optional("RECOMMENDATION_QUEUE_URL"),
                live_stock: optional("LIVE_STOCK_QUEUE_URL"),
                ratings: optional("RATING_QUEUE_URL"),
                email: optional("EMAIL_QUEUE_URL"),
                live_orders: optional("LIVE_ORDER_QUEUE_URL"),
                relay_dead_letter: optional("RELAY_DEAD_LETTER_QUEUE_URL"),
            },
        })
    }
}
