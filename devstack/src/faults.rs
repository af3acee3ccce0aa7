//! Fault injection between the functions and dynoxide.
//!
//! Real DynamoDB cancels a transaction with `TransactionConflict` when another
//! transaction is working on one of its items at the same moment. dynoxide
//! runs one request at a time, so it never does. This proxy forwards every
//! request to dynoxide unchanged, except that it answers a chosen share of
//! `TransactWriteItems` itself, without forwarding them, with the same
//! cancellation DynamoDB sends, so the functions' retry path runs locally
//! (`devstack up --transaction-conflicts 0.2`, and the tests).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const TRANSACT_WRITE: &str = "DynamoDB_20120810.TransactWriteItems";

/// Counts of what the proxy saw, and the share of transactions it cancels,
/// shared with whoever started it.
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// `TransactWriteItems` requests received.
    pub transactions: AtomicU64,
    /// Of those, answered with a `TransactionConflict` cancellation.
    pub conflicts: AtomicU64,
    /// The share to cancel, 0.0..=1.0, as `f64` bits.
    conflict_rate: AtomicU64,
}

impl FaultCounts {
    pub fn conflict_rate(&self) -> f64 {
        f64::from_bits(self.conflict_rate.load(Ordering::Relaxed))
    }

    /// Changes the share of transactions to cancel from now on (a benchmark
    /// injects conflicts only while shoppers race for one product, as
    /// DynamoDB would).
    pub fn set_conflict_rate(&self, rate: f64) -> anyhow::Result<()> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&rate),
            "the transaction conflict rate must be between 0 and 1, not {rate}"
        );
        self.conflict_rate.store(rate.to_bits(), Ordering::Relaxed);
        Ok(())
    }

    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }
}

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    counts: Arc<FaultCounts>,
}

/// Serves the proxy in front of `upstream` on a free loopback port until
/// `shutdown` turns true; returns its endpoint.
pub async fn serve(
    upstream: String,
    conflict_rate: f64,
    counts: Arc<FaultCounts>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(String, JoinHandle<()>)> {
    counts.set_conflict_rate(conflict_rate)?;
    let proxy = Arc::new(Proxy {
        upstream,
        client: reqwest::Client::new(),
        counts,
    });
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    crate::forward::serve_proxy("the fault proxy", app, shutdown).await
}

async fn forward(State(proxy): State<Arc<Proxy>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    if target == Some(TRANSACT_WRITE) {
        proxy.counts.transactions.fetch_add(1, Ordering::Relaxed);
        if rand::random::<f64>() < proxy.counts.conflict_rate() {
            proxy.counts.conflicts.fetch_add(1, Ordering::Relaxed);
            return conflict(&body);
        }
    }
    crate::forward::forward(&proxy.client, &proxy.upstream, &headers, body).await
}

/// DynamoDB's answer to a transaction that lost a race: one reason per
/// action, the last one naming the conflict.
fn conflict(request: &[u8]) -> Response {
    let actions = serde_json::from_slice::<Value>(request)
        .ok()
        .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
        .unwrap_or(1)
        .max(1);
    let mut reasons = vec![json!({ "Code": "None" }); actions - 1];
    reasons.push(json!({ "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" }));
    let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap_or("None")).collect();
    let body = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
        "CancellationReasons": reasons,
    });
    let mut response = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_conflict_names_one_reason_per_action() {
        let request = json!({ "TransactItems": [{}, {}, {}] }).to_string();
        let response = conflict(request.as_bytes());
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        let codes: Vec<&str> = body["CancellationReasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["None", "None", "TransactionConflict"]);
    }
}
