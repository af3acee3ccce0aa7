//! The search index updater (SQS → index). The rules are in
//! `shop_search::updater`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_edge::queue::apply_catalog_batch;
use shop_search::SearchBackend;
use shop_search::updater::refresh;
use shop_store::catalog::{CategoryReader, ProductReader};

/// Applies a batch from the search index queue: each product named once,
/// whatever number of messages name it. A message that is not a catalog
/// event fails on its own (and goes to the dead-letter queue after the
/// queue's receives); the rest of the batch is applied.
pub async fn handle<B: SearchBackend>(
    store: &(impl ProductReader + CategoryReader + Sync),
    index: &B,
    event: SqsEvent,
) -> SqsBatchResponse {
    // Boxed: the SDK calls' futures nest too deep for the compiler's layout
    // computation inside the Lambda runtime's.
    Box::pin(apply_catalog_batch(&event, |ids| async move {
        refresh(store, index, &ids).await
    }))
    .await
}
