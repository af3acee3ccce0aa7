//! SQS batches as Lambda's event source mapping delivers them, with
//! `ReportBatchItemFailures`: the worker answers which messages it could not
//! apply; they become visible again after the queue's visibility timeout and
//! move to the dead-letter queue after its `maxReceiveCount`.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use shop_domain::events::CatalogEvent;
use shop_domain::ids::ProductId;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The FIFO message group of a message (none on a standard queue).
pub fn group(message: &SqsMessage) -> Option<&str> {
    message.attributes.get("MessageGroupId").map(String::as_str)
}

/// The answer for `event` when `failed` says which messages failed. On a
/// FIFO queue the messages after a failed one in the same group fail too, so
/// a group is never applied out of order.
pub fn batch_response(event: &SqsEvent, failed: impl Fn(&SqsMessage) -> bool) -> SqsBatchResponse {
    let mut blocked_groups: HashSet<&str> = HashSet::new();
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        let blocked = group(message).is_some_and(|g| blocked_groups.contains(g));
        if blocked || failed(message) {
            if let Some(g) = group(message) {
                blocked_groups.insert(g);
            }
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Applies a batch of catalog-event messages (the search index updater's,
/// push-stock's): `apply` gets every product the batch names, each once,
/// and answers those it could not handle. A message fails when it is not a
/// catalog event or names such a product; on FIFO queues the rest of its
/// group fails with it (`queue::batch_response`).
pub async fn apply_catalog_batch<F, Fut>(event: &SqsEvent, apply: F) -> SqsBatchResponse
where
    F: FnOnce(BTreeSet<ProductId>) -> Fut,
    Fut: Future<Output = BTreeSet<ProductId>>,
{
    let mut named: HashMap<&str, ProductId> = HashMap::new();
    for message in &event.records {
        let id = message.message_id.as_deref().unwrap_or_default();
        match serde_json::from_str::<CatalogEvent>(message.body.as_deref().unwrap_or_default()) {
            Ok(catalog_event) => {
                named.insert(id, catalog_event.product_id().clone());
            }
            Err(error) => tracing::error!(message_id = id, %error, "not a catalog event"),
        }
    }
    let failed = apply(named.values().cloned().collect()).await;
    batch_response(event, |message| {
        named
            .get(message.message_id.as_deref().unwrap_or_default())
            .is_none_or(|id| failed.contains(id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, group: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.attributes.insert("MessageGroupId".into(), group.into());
        m
    }

    #[test]
    fn a_failure_fails_the_rest_of_its_group_only() {
        let mut event = SqsEvent::default();
        event.records = vec![
            message("1", "a"),
            message("2", "b"),
            message("3", "a"),
            message("4", "b"),
        ];
        let response = batch_response(&event, |m| m.message_id.as_deref() == Some("1"));
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["1", "3"]);
    }
}
