//! Events between services (`docs/events.md`): which changes in the table's
//! stream leave for which queue ([`route`]), and the relay that sends them
//! ([`relay`]). The messages' shapes are `shop_domain::events`.
//!
//! Changes never leave by a separate send after a commit: product and stock
//! changes are read from the stream itself, order events from outbox items
//! written in the order's own transaction. The relay only forwards; the
//! consumers look at the table again (search) or count once per order
//! (recommendations), so a message delivered twice, late or out of order
//! changes nothing.

pub mod relay;

use aws_lambda_events::dynamodb::EventRecord;
use serde::Deserialize;
use serde_dynamo::AttributeValue;
use shop_domain::events::{CatalogEvent, OrderEvent, OrderPayload, REVIEW_RATED, ReviewRated};
use shop_domain::order::OrderId;
use shop_domain::review::{ReviewId, Stars};
use shop_store::{correlation, keys};

/// An SQS client; `endpoint` overrides where it connects.
pub fn sqs(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::config::Builder::from(sdk);
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_sqs::Client::from_conf(config.build())
}

/// The queue a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// FIFO, grouped by product: one product's messages are applied one at a
    /// time, so two updaters never race to write the same document.
    SearchIndex,
    Recommendations,
    /// FIFO, grouped by product, like the search index queue: stock changes
    /// for open storefront pages (`shop_live`).
    LiveStock,
    /// Standard: review ratings for the rating consumer, never merged (each
    /// is one change to count).
    Ratings,
    /// Standard: order events for the email worker (the same messages as
    /// the recommendation queue's).
    Email,
    /// Standard: order events for open order pages (`push-order-status`),
    /// the same messages again.
    LiveOrders,
    /// Records the relay cannot read (a bug): kept with the reason, so they
    /// neither block the stream nor vanish.
    Unreadable,
}

/// One message for a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub destination: Destination,
    /// The stream record's `eventID`: the FIFO deduplication id, so a relay
    /// retry does not send the same change twice within five minutes.
    pub dedup_id: String,
    /// The FIFO message group (the product), for the search index queue.
    pub group: Option<String>,
    /// JSON.
    pub body: String,
    /// The correlation id of the work that made the change, from the item's
    /// `correlationId` (`shop_store::correlation`); it travels as the
    /// message attribute of that name.
    pub correlation_id: Option<String>,
}

/// The outbox item's attributes (`crates/store/src/orders.rs`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutboxItem {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    aggregate_id: OrderId,
    version: u32,
    payload: String,
    created_at: String,
}

/// A stream record the relay cannot read: a bug, never skipped silently.
#[derive(Debug, thiserror::Error)]
#[error("stream record {event_id}: {reason}")]
pub struct UnreadableRecord {
    pub event_id: String,
    pub reason: String,
}

/// What a change in the table means for the other services: the messages it
/// makes (none for most items).
pub fn route(record: &EventRecord) -> Result<Vec<Outgoing>, UnreadableRecord> {
    let unreadable = |reason: String| UnreadableRecord {
        event_id: record.event_id.clone(),
        reason,
    };
    let keys = &record.change.keys;
    let (Some(pk), Some(sk)) = (string(keys, keys::PK), string(keys, keys::SK)) else {
        return Err(unreadable("no pk/sk in the keys".into()));
    };
    let correlation_id = string(&record.change.new_image, correlation::ATTRIBUTE).map(str::to_owned);
    if let Some(product_id) = keys::product_id_of_pk(pk) {
        let event_id = record.event_id.clone();
        let (event, destinations): (_, &[Destination]) = if sk == keys::PRODUCT_SK {
            (
                CatalogEvent::ProductChanged { product_id, event_id },
                &[Destination::SearchIndex],
            )
        } else if sk.starts_with(keys::STOCK_SK_PREFIX) && available_moved(record) {
            (
                CatalogEvent::StockChanged { product_id, event_id },
                &[Destination::SearchIndex, Destination::LiveStock],
            )
        } else {
            return Ok(Vec::new());
        };
        let body = serde_json::to_string(&event).expect("events serialise");
        return Ok(destinations
            .iter()
            .map(|&destination| Outgoing {
                destination,
                dedup_id: record.event_id.clone(),
                group: Some(event.product_id().to_string()),
                body: body.clone(),
                correlation_id: correlation_id.clone(),
            })
            .collect());
    }
    if pk.starts_with(keys::REVIEWS_PK_PREFIX) && sk.starts_with(keys::REVIEW_SK_PREFIX) {
        return review_rated(record).map_err(unreadable).map(|event| {
            event
                .map(|event| Outgoing {
                    destination: Destination::Ratings,
                    dedup_id: event.event_id.clone(),
                    group: None,
                    body: serde_json::to_string(&event).expect("events serialise"),
                    correlation_id,
                })
                .into_iter()
                .collect()
        });
    }
    // An outbox item is only ever inserted; its removal is the TTL collecting it.
    if pk.starts_with("OUTBOX#") && record.event_name == "INSERT" {
        let item: OutboxItem =
            serde_dynamo::from_item(record.change.new_image.clone()).map_err(|e| unreadable(e.to_string()))?;
        let payload: OrderPayload =
            serde_json::from_str(&item.payload).map_err(|e| unreadable(format!("payload: {e}")))?;
        let event = OrderEvent {
            event_id: item.event_id,
            kind: item.kind,
            order_id: item.aggregate_id,
            version: item.version,
            occurred_at: item.created_at,
            payload,
        };
        let body = serde_json::to_string(&event).expect("events serialise");
        return Ok([
            Destination::Recommendations,
            Destination::Email,
            Destination::LiveOrders,
        ]
        .into_iter()
        .map(|destination| Outgoing {
            destination,
            dedup_id: event.event_id.clone(),
            group: None,
            body: body.clone(),
            correlation_id: correlation_id.clone(),
        })
        .collect());
    }
    Ok(Vec::new())
}

/// The dead-letter message for a record the relay cannot read: its keys and
/// position, not its images (an item can be larger than an SQS message).
pub fn unreadable(record: &EventRecord, error: &UnreadableRecord) -> Outgoing {
    let body = serde_json::json!({
        "reason": error.reason,
        "eventID": record.event_id,
        "eventName": record.event_name,
        "keys": record.change.keys,
        "sequenceNumber": record.change.sequence_number,
    });
    Outgoing {
        destination: Destination::Unreadable,
        dedup_id: record.event_id.clone(),
        group: None,
        body: body.to_string(),
        correlation_id: None,
    }
}

fn string<'a>(item: &'a serde_dynamo::Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// A review's rating change, if its stars changed (a vote or an edit of
/// the text alone changes none).
fn review_rated(record: &EventRecord) -> Result<Option<ReviewRated>, String> {
    let stars = |item: &serde_dynamo::Item| -> Result<Option<Stars>, String> {
        match item.get("rating") {
            Some(AttributeValue::N(n)) => n
                .parse::<i64>()
                .map_err(|e| e.to_string())
                .and_then(Stars::new)
                .map(Some)
                .map_err(|e| format!("rating: {e}")),
            Some(_) => Err("rating is not a number".into()),
            None => Ok(None),
        }
    };
    let (before, after) = (stars(&record.change.old_image)?, stars(&record.change.new_image)?);
    if before == after {
        return Ok(None);
    }
    let image = if after.is_some() {
        &record.change.new_image
    } else {
        &record.change.old_image
    };
    let field = |name: &str| string(image, name).ok_or_else(|| format!("the review has no {name}"));
    Ok(Some(ReviewRated {
        kind: REVIEW_RATED.to_owned(),
        event_id: record.event_id.clone(),
        product_id: shop_domain::ids::ProductId::parse(field("productId")?)?,
        review_id: ReviewId::parse(field("reviewId")?)?,
        before,
        after,
    }))
}

/// Whether a stock shard's `available` changed (a shard created or deleted
/// with units free counts too).
fn available_moved(record: &EventRecord) -> bool {
    let available = |item: &serde_dynamo::Item| match item.get("available") {
        Some(AttributeValue::N(n)) => n.parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    available(&record.change.old_image) != available(&record.change.new_image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event_name: &str, keys: &[(&str, &str)], old: serde_json::Value, new: serde_json::Value) -> EventRecord {
        let keys: serde_json::Map<String, serde_json::Value> = keys
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!({ "S": v })))
            .collect();
        serde_json::from_value(serde_json::json!({
            "eventID": "e-1",
            "eventName": event_name,
            "awsRegion": "us-east-1",
            "dynamodb": { "Keys": keys, "OldImage": old, "NewImage": new, "SizeBytes": 1, "SequenceNumber": "1" }
        }))
        .unwrap()
    }

    fn shard(available: i64) -> serde_json::Value {
        serde_json::json!({ "pk": { "S": "PRODUCT#p-1" }, "sk": { "S": "STOCK#00" }, "available": { "N": available.to_string() } })
    }

    fn event_of(outgoing: Outgoing) -> CatalogEvent {
        assert_eq!(outgoing.destination, Destination::SearchIndex);
        assert_eq!(outgoing.group.as_deref(), Some("p-1"));
        serde_json::from_str(&outgoing.body).unwrap()
    }

    #[test]
    fn product_changes_go_to_the_search_index_grouped_by_product() {
        for name in ["INSERT", "MODIFY", "REMOVE"] {
            let r = record(
                name,
                &[("pk", "PRODUCT#p-1"), ("sk", "PRODUCT")],
                serde_json::json!(null),
                serde_json::json!(null),
            );
            let routed = route(&r).unwrap();
            assert_eq!(routed.len(), 1);
            let event = event_of(routed[0].clone());
            assert!(matches!(event, CatalogEvent::ProductChanged { ref event_id, .. } if event_id == "e-1"));
        }
    }

    #[test]
    fn stock_changes_count_only_when_available_moves() {
        let keys = [("pk", "PRODUCT#p-1"), ("sk", "STOCK#00")];
        let moved = route(&record("MODIFY", &keys, shard(5), shard(4))).unwrap();
        assert!(matches!(event_of(moved[0].clone()), CatalogEvent::StockChanged { .. }));
        // Open storefront pages hear of it too.
        assert_eq!(moved[1].destination, Destination::LiveStock);
        assert_eq!(moved[1].body, moved[0].body);
        // A reservation turning into a sale leaves `available` alone.
        assert!(route(&record("MODIFY", &keys, shard(4), shard(4))).unwrap().is_empty());
        let created = route(&record("INSERT", &keys, serde_json::json!(null), shard(3))).unwrap();
        assert_eq!(created.len(), 2);
        assert!(
            route(&record("REMOVE", &keys, shard(0), serde_json::json!(null)))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_change_carries_the_correlation_id_of_its_new_image() {
        let keys = [("pk", "PRODUCT#p-1"), ("sk", "STOCK#00")];
        let mut stamped = shard(4);
        stamped["correlationId"] = serde_json::json!({ "S": "req-7" });
        let sent = route(&record("MODIFY", &keys, shard(5), stamped.clone())).unwrap();
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(|m| m.correlation_id.as_deref() == Some("req-7")));
        // An unstamped write does not inherit the previous write's id.
        let sent = route(&record("MODIFY", &keys, stamped, shard(3))).unwrap();
        assert!(sent.iter().all(|m| m.correlation_id.is_none()));
    }

    #[test]
    fn placed_orders_go_to_the_recommender_the_email_worker_and_order_pages_and_other_items_nowhere() {
        let payload = serde_json::json!({
            "orderId": "ord_01J0000000000000000000000A", "userId": "user-1", "status": "confirmed",
            "lines": [{ "productId": "p-1", "quantity": 2 }], "total": { "amount": 100, "currency": "USD" }
        });
        let event_id = "ord_01J0000000000000000000000A-OrderPlaced-v1";
        let image = serde_json::json!({
            "pk": { "S": format!("OUTBOX#{event_id}") }, "sk": { "S": "EVENT" },
            "eventId": { "S": event_id }, "type": { "S": "OrderPlaced" },
            "aggregateId": { "S": "ord_01J0000000000000000000000A" }, "version": { "N": "1" },
            "payload": { "S": payload.to_string() }, "createdAt": { "S": "2026-11-26T09:00:00Z" }
        });
        let keys = [("pk", &*format!("OUTBOX#{event_id}")), ("sk", "EVENT")];
        let routed = route(&record("INSERT", &keys, serde_json::json!(null), image.clone())).unwrap();
        let [outgoing, mail, live] = &routed[..] else {
            panic!("three messages: {routed:?}")
        };
        assert_eq!(outgoing.destination, Destination::Recommendations);
        assert_eq!(mail.destination, Destination::Email);
        assert_eq!(mail.body, outgoing.body);
        assert_eq!(live.destination, Destination::LiveOrders);
        assert_eq!(live.body, outgoing.body);
        assert_eq!(outgoing.dedup_id, event_id);
        let event: OrderEvent = serde_json::from_str(&outgoing.body).unwrap();
        assert_eq!(event.kind, shop_domain::events::ORDER_PLACED);
        assert_eq!(event.payload.lines[0].quantity, 2);
        // The TTL collecting the outbox item is not an event.
        assert!(
            route(&record("REMOVE", &keys, image, serde_json::json!(null)))
                .unwrap()
                .is_empty()
        );
        let cart = [("pk", "CART#user-1"), ("sk", "LINE#p-1")];
        assert!(
            route(&record(
                "MODIFY",
                &cart,
                serde_json::json!(null),
                serde_json::json!(null)
            ))
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn a_review_whose_stars_change_goes_to_the_rating_consumer() {
        let review = "rev_01J00000000000000000000000";
        let keys = [("pk", "REVIEWS#p-1"), ("sk", &*format!("REVIEW#{review}"))];
        let image = |rating: u8, helpful: u8| {
            serde_json::json!({
                "pk": { "S": "REVIEWS#p-1" }, "sk": { "S": format!("REVIEW#{review}") },
                "productId": { "S": "p-1" }, "reviewId": { "S": review },
                "rating": { "N": rating.to_string() }, "helpful": { "N": helpful.to_string() }
            })
        };
        let rated = |name, old, new| -> Option<ReviewRated> {
            let sent = route(&record(name, &keys, old, new)).unwrap();
            assert!(sent.len() <= 1);
            sent.first().map(|m| {
                assert_eq!(m.destination, Destination::Ratings);
                assert_eq!(m.group, None, "never merged");
                serde_json::from_str(&m.body).unwrap()
            })
        };
        let written = rated("INSERT", serde_json::json!(null), image(4, 0)).unwrap();
        assert_eq!((written.before, written.after), (None, Some(Stars::new(4).unwrap())));
        assert_eq!(written.event_id, "e-1");
        let edited = rated("MODIFY", image(4, 0), image(2, 0)).unwrap();
        assert_eq!(edited.before, Some(Stars::new(4).unwrap()));
        let deleted = rated("REMOVE", image(2, 3), serde_json::json!(null)).unwrap();
        assert_eq!((deleted.after, deleted.review_id.as_str()), (None, review));
        // A helpful vote, or an edit of the words alone, changes no rating.
        assert!(rated("MODIFY", image(2, 0), image(2, 1)).is_none());
        // The shopper's author marker and the votes are not reviews.
        let vote = [("pk", "REVIEWS#p-1"), ("sk", "VOTE#x#u")];
        assert!(
            route(&record("INSERT", &vote, serde_json::json!(null), serde_json::json!({})))
                .unwrap()
                .is_empty()
        );
        assert!(
            route(&record(
                "MODIFY",
                &keys,
                image(2, 0),
                serde_json::json!({ "rating": { "N": "9" } })
            ))
            .is_err()
        );
    }

    #[test]
    fn a_broken_outbox_item_is_an_error_not_a_skip() {
        let keys = [("pk", "OUTBOX#x"), ("sk", "EVENT")];
        let image = serde_json::json!({ "pk": { "S": "OUTBOX#x" }, "sk": { "S": "EVENT" } });
        assert!(route(&record("INSERT", &keys, serde_json::json!(null), image)).is_err());
    }
}
