//! The shop's own CloudWatch metrics (namespace [`NAMESPACE`], dimension
//! `Stack`), counted through the `metrics` facade wherever an outcome is
//! known: [`count`]`(ORDERS_PLACED, 1)`.
//!
//! In Lambda, [`install`] makes `metrics_cloudwatch_embedded`'s collector the
//! process's recorder at init, and the server flushes it after every
//! invocation: one Embedded Metric Format line on stdout, which CloudWatch
//! Logs turns into metric values that template.yaml's alarms and dashboard
//! read. The local runner installs no recorder (it runs every function in
//! one process, and one process has one recorder), so counts are dropped
//! there; the logs say what happened.

use metrics_cloudwatch_embedded::Collector;

/// The CloudWatch namespace of the shop's own metrics.
pub const NAMESPACE: &str = "Storefront";
/// The dimension every value carries: the stack's name, so that a dev and
/// a prod stack in one account never add up in one alarm.
pub const DIMENSION: &str = "Stack";

/// Orders placed (a checkout's first answer, not its replays).
pub const ORDERS_PLACED: &str = "OrdersPlaced";
/// Checkout requests answered again from their idempotency record.
pub const IDEMPOTENT_REPLAYS: &str = "IdempotentReplays";
/// Checkouts the payment provider declined.
pub const PAYMENT_DECLINES: &str = "PaymentDeclines";
/// Cart adds and changes refused for want of stock.
pub const RESERVATIONS_REFUSED: &str = "ReservationsRefused";
/// Cart reservations released by the sweeper after they expired.
pub const RESERVATIONS_EXPIRED: &str = "ReservationsExpired";
/// Searches answered from category browse because the engine failed.
pub const SEARCH_DEGRADED: &str = "SearchDegraded";
/// Stock or money that does not add up (the hourly ledger audit).
pub const LEDGER_DISCREPANCIES: &str = "LedgerDiscrepancies";
/// Products whose stock kept moving through every recheck of the audit.
pub const LEDGER_UNSETTLED: &str = "LedgerUnsettled";
/// Checkouts the reconciler answered, and refunds it made.
pub const RECONCILED_CHECKOUTS: &str = "ReconciledCheckouts";
pub const RECONCILED_REFUNDS: &str = "ReconciledRefunds";
/// Payments the reconciler could not settle (stuck checkouts and refunds).
pub const UNRESOLVED_PAYMENTS: &str = "UnresolvedPayments";

/// Adds `n` to the metric `name`.
pub fn count(name: &'static str, n: u64) {
    metrics::counter!(name).increment(n);
}

/// Makes the EMF collector this process's recorder, every value tagged with
/// `stack`. Counters report what was added since the last flush, zeros
/// included, so an alarm sees a 0 rather than missing data once a
/// function has counted anything.
pub fn install(stack: &str) -> Result<&'static Collector, Box<dyn std::error::Error + Send + Sync>> {
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension(DIMENSION, stack.to_owned())
        .emit_zeros(true)
        .init()
}

/// Writes what was counted since the last flush as one EMF line on stdout.
pub fn flush(collector: &Collector) {
    if let Err(error) = collector.flush(std::io::stdout().lock()) {
        tracing::warn!(%error, "writing the metrics failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test in this binary that installs the process's recorder.
    #[test]
    fn counts_flush_as_emf_documents_tagged_with_the_stack() {
        let collector = install("storefront-test").unwrap();
        count(ORDERS_PLACED, 2);
        count(ORDERS_PLACED, 1);
        count(PAYMENT_DECLINES, 1);
        let mut out = Vec::new();
        collector.flush(&mut out).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Storefront");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Stack"]]));
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, [ORDERS_PLACED, PAYMENT_DECLINES]);
        assert_eq!(doc["Stack"], "storefront-test");
        assert_eq!(doc[ORDERS_PLACED], 3);
        assert_eq!(doc[PAYMENT_DECLINES], 1);
        assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1, "one line per flush");
        // The next flush reports what was added since: nothing.
        let mut again = Vec::new();
        collector.flush(&mut again).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&again).unwrap();
        assert_eq!(doc[ORDERS_PLACED], 0);
    }
}
