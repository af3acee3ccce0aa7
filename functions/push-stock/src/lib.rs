//! Pushes stock changes (SQS) to the WebSocket connections watching the
//! products; the rules are in `shop_live`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_edge::function::{Error, Function, Init};
use shop_edge::queue::apply_catalog_batch;
use shop_live::ApiGatewayNotifier;
use shop_live::{Notify, push_product};
use shop_store::DynamoStore;
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

/// This function, as its `main.rs` and the local runner build it: the
/// store and a notifier for the WebSocket API at `LIVE_CALLBACK_URL` (or
/// the local runner's).
pub struct PushStock {
    store: DynamoStore,
    notifier: ApiGatewayNotifier,
}

impl Function for PushStock {
    type Event = SqsEvent;
    type Output = SqsBatchResponse;

    async fn init(init: &Init<'_>) -> Result<Self, Error> {
        let notifier = init
            .provided_or(async { Ok(ApiGatewayNotifier::new(init.sdk, &init.var("LIVE_CALLBACK_URL")?)) })
            .await?;
        Ok(Self {
            store: init.store.clone(),
            notifier,
        })
    }

    fn handle(&self, event: SqsEvent) -> impl std::future::Future<Output = SqsBatchResponse> + Send {
        handle(&self.store, &self.notifier, event)
    }
}
