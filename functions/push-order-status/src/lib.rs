//! Tells the WebSocket connections watching an order (its open order pages)
//! that it changed, from the order events the relay sends (SQS); the rules
//! are in `shop_live`. The message names the order and nothing else: the
//! page reads the order itself, signed in.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_domain::events::OrderEvent;
use shop_edge::function::{Error, Init};
use shop_edge::queue::run_batch;
use shop_live::{ApiGatewayNotifier, Notify, push_order};
use shop_store::live::LiveConnections;
use std::collections::BTreeSet;

/// Applies a batch of order events: each order once, however many of its
/// events the batch holds.
pub async fn handle<N: Notify>(store: &impl LiveConnections, notifier: &N, event: SqsEvent) -> SqsBatchResponse {
    // Boxed: the SDK call's future nests too deep for the compiler's
    // layout computation inside the Lambda runtime's.
    Box::pin(run_batch(
        &event,
        |e: &OrderEvent| e.order_id.clone(),
        |orders| async move {
            let mut failed = BTreeSet::new();
            for order in orders.into_keys() {
                if let Err(error) = push_order(store, notifier, &order).await {
                    tracing::warn!(%error, %order, "pushing an order change failed");
                    failed.insert(order);
                }
            }
            failed
        },
    ))
    .await
}

/// The WebSocket API's management endpoint (`LIVE_CALLBACK_URL`, or the
/// local runner's).
async fn notifier(init: &Init<'_>) -> Result<ApiGatewayNotifier, Error> {
    init.provided_or(async { Ok(ApiGatewayNotifier::new(init.sdk, &init.var("LIVE_CALLBACK_URL")?)) })
        .await
}

shop_edge::function!(PushOrderStatus, SqsEvent => SqsBatchResponse, handle,
    ApiGatewayNotifier = |init| notifier(init).await?);

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::SqsMessage;
    use shop_domain::events::OrderPayload;
    use shop_domain::ids::UserId;
    use shop_domain::live::Topic;
    use shop_live::Delivery;
    use shop_store::fake::{FakeStore, sample_order};
    use std::sync::Mutex;

    /// Records what was posted; `gone` connections are closed.
    #[derive(Default)]
    struct Sent {
        posts: Mutex<Vec<(String, String)>>,
        gone: Vec<String>,
    }

    impl Notify for Sent {
        async fn post(&self, connection: &str, message: &str) -> Result<Delivery, String> {
            if self.gone.iter().any(|g| g == connection) {
                return Ok(Delivery::Gone);
            }
            self.posts.lock().unwrap().push((connection.into(), message.into()));
            Ok(Delivery::Sent)
        }
    }

    fn message(id: &str, event: &OrderEvent) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.into());
        message.body = Some(serde_json::to_string(event).unwrap());
        message
    }

    #[tokio::test]
    async fn watchers_of_an_order_hear_that_it_changed_once_per_batch_and_closed_ones_are_forgotten() {
        let at = shop_domain::time::parse("2026-12-01T10:00:00Z").unwrap();
        let order = sample_order(&UserId::parse("u-1").unwrap(), 1, at);
        let store = FakeStore::at(at);
        let topic = Topic::Order(order.id.clone());
        for connection in ["c-open", "c-closed"] {
            store.connect(connection).await.unwrap();
            store
                .subscribe(connection, &BTreeSet::from([topic.clone()]))
                .await
                .unwrap();
        }
        let placed = OrderEvent {
            event_id: format!("{}-OrderPlaced-v1", order.id),
            kind: shop_domain::events::ORDER_PLACED.into(),
            order_id: order.id.clone(),
            version: 1,
            occurred_at: "2026-12-01T10:00:00Z".into(),
            payload: OrderPayload {
                order_id: order.id.clone(),
                user_id: "u-1".into(),
                status: order.status,
                lines: Vec::new(),
                total: order.totals.total,
            },
        };
        let mut shipped = placed.clone();
        shipped.event_id = format!("{}-OrderStatusChanged-v2", order.id);
        let mut unreadable = message("m-3", &placed);
        unreadable.body = Some("not an event".into());
        let mut event = SqsEvent::default();
        event.records = vec![message("m-1", &placed), message("m-2", &shipped), unreadable];
        let notifier = Sent {
            gone: vec!["c-closed".into()],
            ..Sent::default()
        };
        let response = handle(&store, &notifier, event).await;

        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m-3"], "only the unreadable message is retried");
        let posts: Vec<(String, serde_json::Value)> = notifier
            .posts
            .lock()
            .unwrap()
            .iter()
            .map(|(connection, message)| (connection.clone(), serde_json::from_str(message).unwrap()))
            .collect();
        let expected = serde_json::json!({ "type": "order", "orderId": order.id.as_str() });
        assert_eq!(posts, [("c-open".to_owned(), expected)], "one message for two events");
        assert_eq!(store.watching(&topic), BTreeSet::from(["c-open".to_owned()]));
    }
}
