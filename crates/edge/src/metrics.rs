//! Custom CloudWatch metrics, as Embedded Metric Format (EMF) lines on
//! stdout: in Lambda, CloudWatch Logs turns each line into metric values
//! (namespace [`NAMESPACE`], dimension `Function`), which template.yaml's
//! alarms watch. Locally the line is simply printed.
//!
//! One line per run of a scheduled job is all the shop needs, so it is
//! written here rather than through `metrics_cloudwatch_embedded`, whose
//! collector is a process-wide `metrics` recorder: the local runner runs
//! every function in one process, where only one could install it.

use std::io::Write as _;

/// The CloudWatch namespace of the shop's own metrics.
pub const NAMESPACE: &str = "Storefront";

/// The EMF document for `values` (name, count) published by `function`.
pub fn emf_line(function: &str, values: &[(&str, f64)], timestamp_ms: i64) -> String {
    let definitions: Vec<serde_json::Value> = values
        .iter()
        .map(|(name, _)| serde_json::json!({ "Name": name, "Unit": "Count" }))
        .collect();
    let mut document = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": definitions,
            }],
        },
        "Function": function,
    });
    for (name, value) in values {
        document[*name] = serde_json::json!(value);
    }
    document.to_string()
}

/// Publishes `values` for `function` now.
pub fn publish(function: &str, values: &[(&str, f64)]) {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let line = emf_line(function, values, now_ms);
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_each_metric_and_carries_its_value() {
        let line = emf_line(
            "audit-ledger",
            &[("LedgerDiscrepancies", 2.0), ("LedgerUnsettled", 0.0)],
            1_700_000_000_000,
        );
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Storefront");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Function"]]));
        assert_eq!(
            directive["Metrics"],
            serde_json::json!([
                { "Name": "LedgerDiscrepancies", "Unit": "Count" },
                { "Name": "LedgerUnsettled", "Unit": "Count" },
            ])
        );
        assert_eq!(doc["Function"], "audit-ledger");
        assert_eq!(doc["LedgerDiscrepancies"], 2.0);
        assert_eq!(doc["LedgerUnsettled"], 0.0);
        assert!(!line.contains('\n'), "one line per document");
    }
}
