//! The recommendation updater (SQS): counts each placed order's
//! co-purchases once (`DynamoStore::record_order`); other order events are
//! acknowledged and change nothing.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use shop_domain::events::{ORDER_PLACED, OrderEvent};
use shop_edge::queue::batch_response;
use shop_store::DynamoStore;
use std::collections::HashSet;

pub async fn handle(store: &DynamoStore, event: SqsEvent) -> SqsBatchResponse {
    let mut failed: HashSet<String> = HashSet::new();
    for message in &event.records {
        if let Err(error) = apply(store, message).await {
            tracing::warn!(message_id = ?message.message_id, %error, "a recommendation event failed");
            failed.insert(message.message_id.clone().unwrap_or_default());
        }
    }
    batch_response(&event, |m| failed.contains(m.message_id.as_deref().unwrap_or_default()))
}

async fn apply(store: &DynamoStore, message: &SqsMessage) -> Result<(), String> {
    let event: OrderEvent = serde_json::from_str(message.body.as_deref().unwrap_or_default())
        .map_err(|e| format!("not an order event: {e}"))?;
    if event.kind == ORDER_PLACED {
        let counted = store.record_order(&event).await.map_err(|e| e.to_string())?;
        tracing::info!(order = %event.order_id, counted, "co-purchases recorded");
    }
    Ok(())
}
