//! The outbox relay: forwards a batch of stream records to the queues
//! [`crate::route`] names, and tells the stream which record to
//! resume from when a send fails.

use crate::{Destination, Outgoing, route, unreadable};
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use shop_store::correlation;
use std::collections::HashMap;

/// SQS takes at most 10 messages per batch.
const SQS_BATCH: usize = 10;

/// Where messages go: SQS in AWS and locally (moto).
pub trait Publish {
    /// Sends `messages` (at most 10, one destination); answers, per message,
    /// whether it was accepted.
    fn send(
        &self,
        destination: Destination,
        messages: &[Outgoing],
    ) -> impl Future<Output = Result<Vec<bool>, String>> + Send;
}

/// The queues the relay feeds (`SEARCH_INDEX_QUEUE_URL`,
/// `RECOMMENDATION_QUEUE_URL`, `LIVE_STOCK_QUEUE_URL`, `RATING_QUEUE_URL`,
/// `EMAIL_QUEUE_URL`, `LIVE_ORDER_QUEUE_URL`, `RELAY_DEAD_LETTER_QUEUE_URL`).
#[derive(Debug, Clone)]
pub struct SqsPublisher {
    pub client: aws_sdk_sqs::Client,
    pub search_index_queue_url: String,
    pub recommendation_queue_url: String,
    pub live_stock_queue_url: String,
    pub rating_queue_url: String,
    pub email_queue_url: String,
    pub live_order_queue_url: String,
    pub dead_letter_queue_url: String,
}

impl Publish for SqsPublisher {
    async fn send(&self, destination: Destination, messages: &[Outgoing]) -> Result<Vec<bool>, String> {
        let queue_url = match destination {
            Destination::SearchIndex => &self.search_index_queue_url,
            Destination::Recommendations => &self.recommendation_queue_url,
            Destination::LiveStock => &self.live_stock_queue_url,
            Destination::Ratings => &self.rating_queue_url,
            Destination::Email => &self.email_queue_url,
            Destination::LiveOrders => &self.live_order_queue_url,
            Destination::Unreadable => &self.dead_letter_queue_url,
        };
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, message)| {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&message.body)
                    .set_message_attributes(
                        message
                            .correlation_id
                            .as_ref()
                            .map(|id| HashMap::from([(correlation::ATTRIBUTE.to_owned(), string_attribute(id))])),
                    );
                match &message.group {
                    Some(group) => entry
                        .message_group_id(group)
                        .message_deduplication_id(&message.dedup_id),
                    None => entry,
                }
                .build()
                .expect("id and body are set")
            })
            .collect();
        let sent = self
            .client
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| shop_domain::report::error_chain(&e))?;
        let mut accepted = vec![true; messages.len()];
        for failed in sent.failed() {
            tracing::warn!(id = failed.id(), code = failed.code(), "SQS refused a message");
            if let Some(slot) = failed.id().parse::<usize>().ok().and_then(|i| accepted.get_mut(i)) {
                *slot = false;
            }
        }
        Ok(accepted)
    }
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("the data type is set")
}

/// Forwards the batch's changes; a record it cannot read goes to the relay's
/// dead-letter queue with the reason, and the rest of the batch flows. On a
/// failed send the answer names the earliest record not safely forwarded:
/// the stream hands that record and every later one to the relay again.
/// Records before it may be sent twice; consumers do not mind.
pub async fn relay<P: Publish>(publisher: &P, event: StreamEvent) -> DynamoDbEventResponse {
    let mut pending: Vec<(usize, Outgoing)> = Vec::new();
    for (index, record) in event.records.iter().enumerate() {
        match route(record) {
            Ok(messages) => pending.extend(messages.into_iter().map(|m| (index, m))),
            Err(error) => {
                tracing::error!(%error, "the relay cannot read a stream record; dead-lettering it");
                pending.push((index, unreadable(record, &error)));
            }
        }
    }
    let pending = coalesce(pending);
    let mut first_failure: Option<usize> = None;
    for destination in [
        Destination::SearchIndex,
        Destination::Recommendations,
        Destination::LiveStock,
        Destination::Ratings,
        Destination::Email,
        Destination::LiveOrders,
        Destination::Unreadable,
    ] {
        let messages: Vec<&(usize, Outgoing)> = pending.iter().filter(|(_, m)| m.destination == destination).collect();
        for chunk in messages.chunks(SQS_BATCH) {
            let batch: Vec<Outgoing> = chunk.iter().map(|(_, m)| m.clone()).collect();
            let accepted = match publisher.send(destination, &batch).await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, ?destination, "sending to SQS failed");
                    vec![false; batch.len()]
                }
            };
            for ((index, _), ok) in chunk.iter().zip(accepted) {
                if !ok {
                    first_failure = Some(first_failure.map_or(*index, |f| f.min(*index)));
                }
            }
        }
    }
    let mut response = DynamoDbEventResponse::default();
    if let Some(index) = first_failure {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = event.records[index].change.sequence_number.clone();
        response.batch_item_failures.push(failure);
    }
    response
}

/// A catalog event only says "look at this product again", and its
/// consumers apply each product once whatever the event: within one stream
/// batch, one message per product and destination does the work of all of
/// them (a flash sale on one product sends two messages per batch, not two
/// per sale). The message kept is the latest change's; it stands for the
/// earliest record it replaces, so that a failed send rewinds the stream to
/// the first change not safely forwarded. Order and review events (no
/// group) are never merged.
fn coalesce(pending: Vec<(usize, Outgoing)>) -> Vec<(usize, Outgoing)> {
    let mut kept: Vec<(usize, Outgoing)> = Vec::with_capacity(pending.len());
    let mut slots: HashMap<(Destination, String), usize> = HashMap::new();
    for (index, message) in pending {
        let Some(group) = message.group.clone() else {
            kept.push((index, message));
            continue;
        };
        match slots.entry((message.destination, group)) {
            std::collections::hash_map::Entry::Occupied(slot) => kept[*slot.get()].1 = message,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(kept.len());
                kept.push((index, message));
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records what it was given; refuses messages whose body contains "refuse".
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(Destination, Outgoing)>>);

    impl Publish for Recorder {
        async fn send(&self, destination: Destination, messages: &[Outgoing]) -> Result<Vec<bool>, String> {
            let mut sent = self.0.lock().unwrap();
            Ok(messages
                .iter()
                .map(|m| {
                    let ok = !m.body.contains("refuse");
                    if ok {
                        sent.push((destination, m.clone()));
                    }
                    ok
                })
                .collect())
        }
    }

    fn stock_record(sequence: usize, product: &str, before: i64, after: i64) -> serde_json::Value {
        let image = |available: i64| serde_json::json!({ "pk": { "S": format!("PRODUCT#{product}") }, "sk": { "S": "STOCK#00" }, "available": { "N": available.to_string() } });
        serde_json::json!({
            "eventID": format!("e-{sequence}"), "eventName": "MODIFY", "awsRegion": "us-east-1",
            "dynamodb": {
                "Keys": { "pk": { "S": format!("PRODUCT#{product}") }, "sk": { "S": "STOCK#00" } },
                "OldImage": image(before), "NewImage": image(after),
                "SequenceNumber": format!("{sequence:021}"), "SizeBytes": 1
            }
        })
    }

    /// The sequence numbers a response asks the stream to resume from.
    fn failures(response: &DynamoDbEventResponse) -> Vec<String> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone().unwrap())
            .collect()
    }

    fn batch(records: Vec<serde_json::Value>) -> StreamEvent {
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    #[tokio::test]
    async fn forwards_in_batches_of_ten_and_acknowledges_everything() {
        let records = (0..25).map(|i| stock_record(i, &format!("p-{i}"), 1, 0)).collect();
        let publisher = Recorder::default();
        let response = relay(&publisher, batch(records)).await;
        assert!(response.batch_item_failures.is_empty());
        let sent = publisher.0.lock().unwrap();
        // Each stock change goes to the search index and to live stock.
        assert_eq!(sent.len(), 50);
        assert_eq!(sent[24].1.dedup_id, "e-24");
        assert_eq!(sent[49].0, Destination::LiveStock);
    }

    #[tokio::test]
    async fn a_refused_message_names_the_earliest_record_to_resume_from() {
        let records = vec![
            stock_record(1, "p-1", 1, 0),
            stock_record(2, "p-1", 0, 0), // not an event
            stock_record(3, "refuse", 1, 0),
            stock_record(4, "p-2", 1, 0),
        ];
        let publisher = Recorder::default();
        let response = relay(&publisher, batch(records)).await;
        assert_eq!(failures(&response), [format!("{:021}", 3)]);
    }

    #[tokio::test]
    async fn a_hot_product_gets_one_message_per_destination_per_batch() {
        let mut records: Vec<_> = (0..30)
            .map(|i| stock_record(i, "p-hot", 40 - i as i64, 39 - i as i64))
            .collect();
        records.insert(10, stock_record(99, "p-other", 1, 0));
        let publisher = Recorder::default();
        let response = relay(&publisher, batch(records)).await;
        assert!(response.batch_item_failures.is_empty());
        let sent = publisher.0.lock().unwrap();
        let summary: Vec<(Destination, &str, &str)> = sent
            .iter()
            .map(|(d, m)| (*d, m.group.as_deref().unwrap(), m.dedup_id.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (Destination::SearchIndex, "p-hot", "e-29"),
                (Destination::SearchIndex, "p-other", "e-99"),
                (Destination::LiveStock, "p-hot", "e-29"),
                (Destination::LiveStock, "p-other", "e-99"),
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_merged_message_rewinds_to_the_first_change_it_stands_for() {
        let records = vec![
            stock_record(1, "p-1", 3, 2),
            stock_record(2, "refuse", 3, 2),
            stock_record(3, "p-1", 2, 1),
            stock_record(4, "refuse", 2, 1),
        ];
        let publisher = Recorder::default();
        let response = relay(&publisher, batch(records)).await;
        assert_eq!(failures(&response), [format!("{:021}", 2)]);
    }

    #[tokio::test]
    async fn an_unreadable_record_is_dead_lettered_and_the_rest_flows() {
        let broken = serde_json::json!({
            "eventID": "e-broken", "eventName": "INSERT", "awsRegion": "us-east-1",
            "dynamodb": {
                "Keys": { "pk": { "S": "OUTBOX#x" }, "sk": { "S": "EVENT" } },
                "NewImage": { "pk": { "S": "OUTBOX#x" }, "sk": { "S": "EVENT" } },
                "SequenceNumber": "2", "SizeBytes": 1
            }
        });
        let records = vec![stock_record(1, "p-1", 1, 0), broken, stock_record(3, "p-2", 1, 0)];
        let publisher = Recorder::default();
        let response = relay(&publisher, batch(records)).await;
        assert!(response.batch_item_failures.is_empty());
        let sent = publisher.0.lock().unwrap();
        let destinations: Vec<Destination> = sent.iter().map(|(d, _)| *d).collect();
        assert_eq!(
            destinations,
            [
                Destination::SearchIndex,
                Destination::SearchIndex,
                Destination::LiveStock,
                Destination::LiveStock,
                Destination::Unreadable
            ]
        );
        let dead: serde_json::Value = serde_json::from_str(&sent[4].1.body).unwrap();
        assert_eq!(dead["eventID"], "e-broken");
        assert_eq!(dead["keys"]["pk"]["S"], "OUTBOX#x");
        assert!(dead["reason"].as_str().unwrap().contains("missing field"));
    }
}
