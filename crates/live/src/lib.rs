//! Live updates: open storefront pages subscribe to products and orders over
//! a WebSocket (an API Gateway WebSocket API in AWS; the local runner serves
//! the same protocol) and hear whenever a product's availability or an
//! order's status changes.
//!
//! - The client sends `{"action": "subscribe", "productIds": [...],
//!   "orderIds": [...]}` (`orderIds` may be left out); each subscribe
//!   replaces the connection's previous set.
//! - The server pushes `{"type": "stock", "productId", "available", "inStock"}`
//!   and `{"type": "order", "orderId"}`.
//!
//! Stock events reach `push-stock` through the same pipeline as the search
//! index (`docs/events.md`); it re-reads the product, so a late or repeated
//! message pushes the current figure, never an old one. Order events reach
//! `push-order-status`, which says only *that* the order changed: the socket
//! is anonymous, so the page reads the order itself, signed in, through
//! `GET /orders/{id}`, and nothing about an order leaves over the socket.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use serde::{Deserialize, Serialize};
use shop_domain::ids::ProductId;
use shop_domain::live::Topic;
use shop_domain::order::OrderId;
use shop_domain::stock::StockLevel;
use shop_store::catalog::ProductReader;
use shop_store::live::LiveConnections;
use std::collections::BTreeSet;

/// Products one connection may watch at once.
pub const MAX_SUBSCRIPTIONS: usize = 100;
/// Orders one connection may watch at once.
pub const MAX_ORDER_SUBSCRIPTIONS: usize = 10;

#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
enum ClientMessage {
    #[serde(rename_all = "camelCase")]
    Subscribe {
        product_ids: Vec<String>,
        #[serde(default)]
        order_ids: Vec<String>,
    },
}

/// The topics a subscribe message names, or what is wrong with it.
pub fn parse_subscribe(body: &str) -> Result<BTreeSet<Topic>, String> {
    let ClientMessage::Subscribe { product_ids, order_ids } = serde_json::from_str(body).map_err(|e| {
        format!("expected {{\"action\": \"subscribe\", \"productIds\": [...], \"orderIds\": [...]}}: {e}")
    })?;
    if product_ids.len() > MAX_SUBSCRIPTIONS {
        return Err(format!("at most {MAX_SUBSCRIPTIONS} products per connection"));
    }
    if order_ids.len() > MAX_ORDER_SUBSCRIPTIONS {
        return Err(format!("at most {MAX_ORDER_SUBSCRIPTIONS} orders per connection"));
    }
    let products = product_ids.into_iter().map(|id| {
        ProductId::parse(id)
            .map(Topic::Product)
            .map_err(|e| format!("productIds: {e}"))
    });
    let orders = order_ids.into_iter().map(|id| {
        OrderId::parse(id)
            .map(Topic::Order)
            .map_err(|e| format!("orderIds: {e}"))
    });
    products.chain(orders).collect()
}

/// What a watcher is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockUpdate {
    #[serde(rename = "type")]
    pub kind: String,
    pub product_id: ProductId,
    pub available: i64,
    pub in_stock: bool,
}

impl StockUpdate {
    pub fn new(product_id: ProductId, stock: &StockLevel) -> Self {
        Self {
            kind: "stock".into(),
            product_id,
            available: stock.available,
            in_stock: stock.in_stock(),
        }
    }
}

/// What a watcher of an order is told: that it changed, and nothing else
/// (the page reads it, signed in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderChanged {
    #[serde(rename = "type")]
    pub kind: String,
    pub order_id: OrderId,
}

impl OrderChanged {
    pub fn new(order_id: OrderId) -> Self {
        Self {
            kind: "order".into(),
            order_id,
        }
    }
}

/// Whether a message reached its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// The connection is closed: forget it.
    Gone,
}

/// Sends to connections: API Gateway's management API (`@connections`).
pub trait Notify {
    fn post(&self, connection: &str, message: &str) -> impl Future<Output = Result<Delivery, String>> + Send;
}

/// The management API of a WebSocket API stage (`LIVE_CALLBACK_URL`,
/// `https://{api}.execute-api.{region}.amazonaws.com/{stage}`; locally the
/// runner's).
#[derive(Debug, Clone)]
pub struct ApiGatewayNotifier {
    pub client: aws_sdk_apigatewaymanagement::Client,
}

impl ApiGatewayNotifier {
    pub fn new(sdk: &aws_config::SdkConfig, callback_url: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(callback_url)
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }
}

impl Notify for ApiGatewayNotifier {
    async fn post(&self, connection: &str, message: &str) -> Result<Delivery, String> {
        use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
        match self
            .client
            .post_to_connection()
            .connection_id(connection)
            .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(message.as_bytes()))
            .send()
            .await
        {
            Ok(_) => Ok(Delivery::Sent),
            Err(error) if matches!(error.as_service_error(), Some(PostToConnectionError::GoneException(_))) => {
                Ok(Delivery::Gone)
            }
            Err(error) => Err(shop_domain::report::error_chain(&error)),
        }
    }
}

/// A WebSocket route's answer: `status`, with `body` as text.
pub fn answer(status: i64, body: &str) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response.body = Some(aws_lambda_events::encodings::Body::Text(body.to_owned()));
    response
}

/// The WebSocket API's routes (`$connect`, `$disconnect`, `subscribe`).
pub async fn handle_socket(
    store: &impl LiveConnections,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let context = &event.request_context;
    let Some(connection) = context.connection_id.as_deref() else {
        return answer(400, "no connection id");
    };
    let outcome = match context.route_key.as_deref() {
        Some("$connect") => store.connect(connection).await,
        Some("$disconnect") => store.disconnect(connection).await,
        Some("subscribe") => match parse_subscribe(event.body.as_deref().unwrap_or_default()) {
            Ok(topics) => store.subscribe(connection, &topics).await,
            Err(problem) => return answer(400, &problem),
        },
        other => return answer(400, &format!("unknown route {other:?}")),
    };
    match outcome {
        Ok(()) => answer(200, ""),
        Err(error) => {
            tracing::warn!(%error, connection, "a live-stock route failed");
            answer(500, "try again")
        }
    }
}

/// Sends `product`'s current availability to every connection watching it;
/// closed connections are forgotten.
pub async fn push_product<N: Notify>(
    store: &(impl LiveConnections + ProductReader),
    notifier: &N,
    product: &ProductId,
) -> Result<(), String> {
    let topic = Topic::Product(product.clone());
    let watchers = store.watchers(&topic).await.map_err(|e| e.to_string())?;
    if watchers.is_empty() {
        return Ok(());
    }
    let stock = match store.product_with_stock(product).await.map_err(|e| e.to_string())? {
        Some((_, stock)) => stock,
        None => StockLevel::default(),
    };
    let message = serde_json::to_string(&StockUpdate::new(product.clone(), &stock)).expect("updates serialise");
    post_all(store, notifier, &topic, watchers, &message).await
}

/// Tells every connection watching `order` that it changed; closed
/// connections are forgotten.
pub async fn push_order<N: Notify>(store: &impl LiveConnections, notifier: &N, order: &OrderId) -> Result<(), String> {
    let topic = Topic::Order(order.clone());
    let watchers = store.watchers(&topic).await.map_err(|e| e.to_string())?;
    let message = serde_json::to_string(&OrderChanged::new(order.clone())).expect("updates serialise");
    post_all(store, notifier, &topic, watchers, &message).await
}

async fn post_all<N: Notify>(
    store: &impl LiveConnections,
    notifier: &N,
    topic: &Topic,
    watchers: Vec<String>,
    message: &str,
) -> Result<(), String> {
    for connection in watchers {
        if notifier.post(&connection, message).await? == Delivery::Gone {
            store.forget(&connection, topic).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_messages_name_valid_products_and_orders() {
        let ids = parse_subscribe(r#"{"action":"subscribe","productIds":["P1","P2","P1"]}"#).unwrap();
        assert_eq!(ids.len(), 2);
        let order = "ord_01J0000000000000000000000A";
        let body = format!(r#"{{"action":"subscribe","productIds":["P1"],"orderIds":["{order}"]}}"#);
        let ids = parse_subscribe(&body).unwrap();
        assert!(ids.contains(&Topic::Order(OrderId::parse(order).unwrap())));
        assert!(ids.contains(&Topic::Product(ProductId::parse("P1").unwrap())));
        let bad_order = r#"{"action":"subscribe","productIds":[],"orderIds":["P1"]}"#;
        assert!(parse_subscribe(bad_order).unwrap_err().contains("orderIds"));
        let orders: Vec<String> = (0..=MAX_ORDER_SUBSCRIPTIONS).map(|_| order.to_owned()).collect();
        let body = serde_json::json!({ "action": "subscribe", "productIds": [], "orderIds": orders }).to_string();
        assert!(parse_subscribe(&body).unwrap_err().contains("at most"));
        assert!(parse_subscribe(r#"{"action":"subscribe","productIds":["bad#id"]}"#).is_err());
        assert!(parse_subscribe(r#"{"action":"unsubscribe"}"#).is_err());
        assert!(parse_subscribe("not json").is_err());
        let many: Vec<String> = (0..=MAX_SUBSCRIPTIONS).map(|i| format!("P{i}")).collect();
        let body = serde_json::json!({ "action": "subscribe", "productIds": many }).to_string();
        assert!(parse_subscribe(&body).unwrap_err().contains("at most"));
    }
}
