//! Logging: JSON lines in Lambda (CloudWatch), readable text locally. Every
//! line logged while a request is handled carries its correlation id, because
//! [`crate::http::respond`] runs the handler inside a span that holds it.

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Installs the global subscriber in the format `LOG_FORMAT` names (`json`,
/// the default, or `text`). `RUST_LOG` filters (default `info`).
pub fn init() {
    let format = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("text") => LogFormat::Text,
        _ => LogFormat::Json,
    };
    init_as(format);
}

pub fn init_as(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Text => builder.compact().try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
