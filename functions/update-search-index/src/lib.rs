//! The search index updater (SQS → index). The rules are in
//! `shared::search::updater`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shared::search::SearchBackend;
use shared::store::DynamoStore;

pub async fn handle<B: SearchBackend>(store: &DynamoStore, index: &B, event: SqsEvent) -> SqsBatchResponse {
    // Boxed: the SDK calls' futures nest too deep for the compiler's layout
    // computation inside the Lambda runtime's.
    Box::pin(shared::search::updater::apply_batch(store, index, event)).await
}
