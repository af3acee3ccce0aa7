//! Logging: JSON lines in Lambda (CloudWatch), readable text locally. Every
//! line logged during an invocation carries its correlation id, because
//! [`crate::http::respond`] runs a request, and [`invocation`] any other
//! invocation, inside a span that holds it.

use tracing::Instrument;
use tracing_subscriber::EnvFilter;

/// Runs one invocation that is not an HTTP request (a batch, a schedule's
/// tick, a task) under the correlation id `id` (in Lambda, its request id):
/// its log lines carry it, and so do the items it writes
/// ([`shop_store::correlation`]). An HTTP request sets its own inside
/// ([`crate::http::respond`]).
///
/// `work` is boxed: nesting a handler's future in two more layers here made
/// the type of a binary's `main` future too deep for the compiler's query
/// depth limit (live-socket's, the deepest).
pub async fn invocation<F: Future>(id: String, work: F) -> F::Output {
    let span = tracing::info_span!("invocation", correlation_id = %id);
    shop_store::correlation::scope(id, Box::pin(work).instrument(span)).await
}

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
