//! SQS batches as Lambda's event source mapping delivers them, with
//! `ReportBatchItemFailures`: the worker answers which messages it could not
//! apply; they become visible again after the queue's visibility timeout and
//! move to the dead-letter queue after its `maxReceiveCount`.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde::de::DeserializeOwned;
use shop_domain::events::CatalogEvent;
use shop_domain::ids::ProductId;
use shop_store::correlation;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use tracing::Instrument;

/// The correlation id a message carries: the relay sets it from the item
/// whose change made the message ([`shop_store::correlation`]).
pub fn correlation_id(message: &SqsMessage) -> Option<&str> {
    message
        .message_attributes
        .get(correlation::ATTRIBUTE)
        .and_then(|attribute| attribute.string_value.as_deref())
}

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

/// Runs a batch for a queue worker, the one way every worker reads SQS:
/// parses each message as an `M`, names it by `key`, and hands `apply`
/// every name the batch holds, once, with one of its messages (so a product
/// named by ten messages is looked at once). `apply` answers the names it
/// could not handle. A message fails when it does not parse or its name
/// failed; on a FIFO queue the rest of its group fails with it
/// ([`batch_response`]).
///
/// Each message is logged as it is received, and again if it failed, with
/// its correlation id; `apply` runs in a span that lists the batch's ids.
pub async fn run_batch<M, K, F, Fut>(event: &SqsEvent, key: impl Fn(&M) -> K, apply: F) -> SqsBatchResponse
where
    M: DeserializeOwned,
    K: Ord + Clone,
    F: FnOnce(BTreeMap<K, M>) -> Fut,
    Fut: Future<Output = BTreeSet<K>>,
{
    let mut named: HashMap<&str, K> = HashMap::new();
    let mut messages: BTreeMap<K, M> = BTreeMap::new();
    let mut correlation_ids: BTreeSet<&str> = BTreeSet::new();
    for message in &event.records {
        let id = message.message_id.as_deref().unwrap_or_default();
        let correlation = correlation_id(message);
        tracing::info!(
            message_id = id,
            correlation_id = correlation.unwrap_or_default(),
            "received"
        );
        correlation_ids.extend(correlation);
        match serde_json::from_str::<M>(message.body.as_deref().unwrap_or_default()) {
            Ok(parsed) => {
                let name = key(&parsed);
                named.insert(id, name.clone());
                messages.insert(name, parsed);
            }
            Err(error) => tracing::error!(message_id = id, %error, "a message this queue's worker cannot read"),
        }
    }
    let ids = correlation_ids.into_iter().collect::<Vec<_>>().join(",");
    let failed = apply(messages)
        .instrument(tracing::info_span!("batch", correlation_ids = %ids))
        .await;
    let response = batch_response(event, |message| {
        named
            .get(message.message_id.as_deref().unwrap_or_default())
            .is_none_or(|name| failed.contains(name))
    });
    let retried: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    for message in &event.records {
        let id = message.message_id.as_deref().unwrap_or_default();
        if retried.contains(id) {
            let correlation_id = correlation_id(message).unwrap_or_default();
            tracing::warn!(
                message_id = id,
                correlation_id,
                "not applied; the queue delivers it again"
            );
        }
    }
    response
}

/// [`run_batch`] for events applied one at a time, each once by its id
/// (order events for recommendations and emails, review ratings): `apply`
/// gets each event in turn; one that fails is logged with its error and
/// delivered again, and the rest of the batch goes on.
pub async fn apply_each<M, F, Fut>(event: &SqsEvent, id: impl Fn(&M) -> String, apply: F) -> SqsBatchResponse
where
    M: DeserializeOwned,
    F: Fn(M) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    run_batch(event, id, |events| async move {
        let mut failed = BTreeSet::new();
        for (id, event) in events {
            if let Err(error) = apply(event).await {
                tracing::warn!(event = id, %error, "an event failed");
                failed.insert(id);
            }
        }
        failed
    })
    .await
}

/// [`run_batch`] for catalog events (the search index updater's,
/// push-stock's): `apply` gets every product the batch names, each once.
pub async fn apply_catalog_batch<F, Fut>(event: &SqsEvent, apply: F) -> SqsBatchResponse
where
    F: FnOnce(BTreeSet<ProductId>) -> Fut,
    Fut: Future<Output = BTreeSet<ProductId>>,
{
    run_batch(
        event,
        |e: &CatalogEvent| e.product_id().clone(),
        |named| apply(named.into_keys().collect()),
    )
    .await
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

    fn failed(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn each_name_is_applied_once_and_fails_every_message_naming_it() {
        let body = |product: &str| format!(r#"{{"type":"StockChanged","productId":"{product}","eventId":"e"}}"#);
        let mut event = SqsEvent::default();
        for (id, group, text) in [
            ("1", "p1", body("P1")),
            ("2", "p2", body("P2")),
            ("3", "p1", body("P1")),
            ("4", "p3", "not json".to_owned()),
            ("5", "p4", body("P4")),
        ] {
            let mut m = message(id, group);
            m.body = Some(text);
            event.records.push(m);
        }
        let mut seen = Vec::new();
        let response = apply_catalog_batch(&event, |products| {
            seen.extend(products.iter().map(|p| p.to_string()));
            async { BTreeSet::from([ProductId::parse("P2").unwrap()]) }
        })
        .await;
        assert_eq!(seen, ["P1", "P2", "P4"]);
        assert_eq!(failed(&response), ["2", "4"]);
    }
}
