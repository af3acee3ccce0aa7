//! The search index updater (SQS → index). The rules are in
//! `shop_search::updater`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_edge::function::{Error, Function, Init};
use shop_edge::queue::apply_catalog_batch;
use shop_search::SearchBackend;
use shop_search::Searcher;
use shop_search::backend::AnyBackend;
use shop_search::updater::refresh;
use shop_store::DynamoStore;
use shop_store::catalog::{CategoryReader, ProductReader};
use std::sync::Arc;

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

/// This function, as its `main.rs` and the local runner build it: the
/// store and the search index its environment names, its mapping ensured
/// (or the one the local runner shares).
pub struct UpdateSearchIndex {
    store: DynamoStore,
    searcher: Arc<Searcher<AnyBackend>>,
}

impl Function for UpdateSearchIndex {
    type Event = SqsEvent;
    type Output = SqsBatchResponse;

    async fn init(init: &Init<'_>) -> Result<Self, Error> {
        Ok(Self {
            store: init.store.clone(),
            searcher: init
                .provided_or(async {
                    let backend = AnyBackend::from_lookup(init.env).await?;
                    backend.ensure_index().await?;
                    Ok(Arc::new(Searcher::new(backend)))
                })
                .await?,
        })
    }

    fn handle(&self, event: SqsEvent) -> impl std::future::Future<Output = SqsBatchResponse> + Send {
        handle(&self.store, &self.searcher.backend, event)
    }
}
