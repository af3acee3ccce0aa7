//! The rating consumer (SQS): counts each review's rating change into its
//! product's histogram, rating and review count, once per event
//! (`Reviews::count_rating`), so search and browse show them.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_domain::events::ReviewRated;
use shop_edge::queue::apply_each;
use shop_store::reviews::Reviews;

pub async fn handle(store: &impl Reviews, event: SqsEvent) -> SqsBatchResponse {
    // Boxed: the SDK calls' futures nest too deep for the compiler's layout
    // computation inside the Lambda runtime's.
    Box::pin(apply_each(
        &event,
        |e: &ReviewRated| e.event_id.clone(),
        |e| async move {
            let counted = store.count_rating(&e).await.map_err(|e| e.to_string())?;
            tracing::info!(product = %e.product_id, review = %e.review_id, counted, "rating counted");
            Ok(())
        },
    ))
    .await
}

shop_edge::function!(UpdateRatings, SqsEvent => SqsBatchResponse, handle);
