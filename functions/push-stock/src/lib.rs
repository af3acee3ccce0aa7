//! Pushes stock changes (SQS) to the WebSocket connections watching the
//! products; the rules are in `shop_live`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_edge::queue::apply_catalog_batch;
use shop_live::{Notify, push_product};
use shop_store::catalog::ProductReader;
use shop_store::live::LiveConnections;
use std::collections::BTreeSet;

/// Applies a batch of stock events: each product once, its current
/// availability to every connection watching it; closed connections are
/// forgotten. Messages that are not catalog events fail on their own.
async fn push_batch<N: Notify>(
    store: &(impl LiveConnections + ProductReader),
    notifier: &N,
    event: SqsEvent,
) -> SqsBatchResponse {
    apply_catalog_batch(&event, |products| async move {
        let mut failed = BTreeSet::new();
        for product in products {
            if let Err(error) = push_product(store, notifier, &product).await {
                tracing::warn!(%error, %product, "pushing stock failed");
                failed.insert(product);
            }
        }
        failed
    })
    .await
}

pub async fn handle<N: Notify>(
    store: &(impl LiveConnections + ProductReader),
    notifier: &N,
    event: SqsEvent,
) -> SqsBatchResponse {
    // Boxed: the SDK call's future nests too deep for the compiler's
    // layout computation inside the Lambda runtime's.
    Box::pin(push_batch(store, notifier, event)).await
}
