//! The recommendation updater (SQS): counts each placed order's
//! co-purchases once (`CoPurchases::record_order`); other order events are
//! acknowledged and change nothing.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_domain::events::{ORDER_PLACED, OrderEvent};
use shop_edge::queue::apply_each;
use shop_store::recommendations::CoPurchases;

pub async fn handle(store: &impl CoPurchases, event: SqsEvent) -> SqsBatchResponse {
    // Boxed: the SDK calls' futures nest too deep for the compiler's layout
    // computation inside the Lambda runtime's.
    Box::pin(apply_each(
        &event,
        |e: &OrderEvent| e.event_id.clone(),
        |e| async move { apply(store, &e).await },
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
