//! The recommendation updater (SQS): counts each placed order's
//! co-purchases once (`CoPurchases::record_order`); other order events are
//! acknowledged and change nothing.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_domain::events::{ORDER_PLACED, OrderEvent};
use shop_edge::queue::run_batch;
use shop_store::recommendations::CoPurchases;
use std::collections::BTreeSet;

pub async fn handle(store: &impl CoPurchases, event: SqsEvent) -> SqsBatchResponse {
    // Boxed: the SDK calls' futures nest too deep for the compiler's layout
    // computation inside the Lambda runtime's.
    Box::pin(run_batch(
        &event,
        |e: &OrderEvent| e.event_id.clone(),
        |events| async move {
            let mut failed = BTreeSet::new();
            for (id, event) in events {
                if let Err(error) = apply(store, &event).await {
                    tracing::warn!(event = id, %error, "a recommendation event failed");
                    failed.insert(id);
                }
            }
            failed
        },
    ))
    .await
}

shop_edge::function!(UpdateRecommendations, SqsEvent => SqsBatchResponse, handle);

async fn apply(store: &impl CoPurchases, event: &OrderEvent) -> Result<(), String> {
    if event.kind == ORDER_PLACED {
        let counted = store.record_order(event).await.map_err(|e| e.to_string())?;
        tracing::info!(order = %event.order_id, counted, "co-purchases recorded");
    }
    Ok(())
}
