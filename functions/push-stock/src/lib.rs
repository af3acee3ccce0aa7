//! Pushes stock changes (SQS) to the WebSocket connections watching the
//! products; the rules are in `shared::live`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shared::live::Notify;
use shared::store::DynamoStore;

pub async fn handle<N: Notify>(store: &DynamoStore, notifier: &N, event: SqsEvent) -> SqsBatchResponse {
    // Boxed: the SDK call's future nests too deep for the compiler's
    // layout computation inside the Lambda runtime's.
    Box::pin(shared::live::push_batch(store, notifier, event)).await
}
