//! The rating consumer (SQS): counts each review's rating change into its
//! product's histogram, rating and review count, once per event
//! (`Reviews::count_rating`), so search and browse show them.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_domain::events::ReviewRated;
use shop_edge::queue::run_batch;
use shop_store::reviews::Reviews;
use std::collections::BTreeSet;

pub async fn handle(store: &impl Reviews, event: SqsEvent) -> SqsBatchResponse {
    // Boxed: the SDK calls' futures nest too deep for the compiler's layout
    // computation inside the Lambda runtime's.
    Box::pin(run_batch(
        &event,
        |e: &ReviewRated| e.event_id.clone(),
        |events| async move {
            let mut failed = BTreeSet::new();
            for (id, event) in events {
                match store.count_rating(&event).await {
                    Ok(counted) => tracing::info!(product = %event.product_id, review = %event.review_id, counted, "rating counted"),
                    Err(error) => {
                        tracing::warn!(event = id, %error, "a rating event failed");
                        failed.insert(id);
                    }
                }
            }
            failed
        },
    ))
    .await
}

shop_edge::function!(UpdateRatings, SqsEvent => SqsBatchResponse, handle);
