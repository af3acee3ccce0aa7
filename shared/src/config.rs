//! A function's configuration, read from its environment variables (set in
//! template.yaml, or by the local runner from the same definitions).

/// Configuration every function reads at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The shop's single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct MissingVariable(pub &'static str);

impl Config {
    /// From the process environment, as in Lambda.
    pub fn from_env() -> Result<Self, MissingVariable> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any source of variables; the local runner passes each function's
    /// variables from template.yaml.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, MissingVariable> {
        let required = |name: &'static str| lookup(name).filter(|v| !v.is_empty()).ok_or(MissingVariable(name));
        Ok(Self {
            table_name: required("TABLE_NAME")?,
        })
    }
}
