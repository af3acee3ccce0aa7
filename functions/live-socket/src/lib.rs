//! The live stock WebSocket API's routes (`$connect`, `$disconnect`,
//! `subscribe`); the rules are in `shop_live`. Only the storefront's pages
//! may connect: a `$connect` whose `Origin` is not `ALLOWED_ORIGIN` is
//! refused with 403 before anything is stored, so another site cannot
//! spend the shop's connections.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use shop_edge::http::AllowedOrigin;
use shop_store::live::LiveConnections;

pub async fn handle(
    store: &impl LiveConnections,
    origin: &AllowedOrigin,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let connecting = event.request_context.route_key.as_deref() == Some("$connect");
    if connecting && event.headers.get("origin") != Some(origin.header()) {
        tracing::info!(origin = ?event.headers.get("origin"), "a connection from another origin was refused");
        return shop_live::answer(403, "");
    }
    shop_live::handle_socket(store, event).await
}

shop_edge::function!(LiveSocket, ApiGatewayWebsocketProxyRequest => ApiGatewayProxyResponse, handle,
    AllowedOrigin = |init| AllowedOrigin::from_lookup(init.env)?);

#[cfg(test)]
mod tests {
    use super::*;
    use shop_domain::ids::ProductId;
    use shop_domain::live::Topic;
    use shop_domain::order::OrderId;
    use shop_store::fake::FakeStore;

    const STOREFRONT: &str = "https://shop.example.com";

    fn event(route: &str, body: Option<&str>) -> ApiGatewayWebsocketProxyRequest {
        let mut event = ApiGatewayWebsocketProxyRequest::default();
        event.request_context.connection_id = Some("c-1".into());
        event.request_context.route_key = Some(route.into());
        event.body = body.map(str::to_owned);
        event.headers.insert("origin", STOREFRONT.parse().unwrap());
        event
    }

    async fn handle(store: &FakeStore, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        super::handle(store, &AllowedOrigin::parse(STOREFRONT).unwrap(), event).await
    }

    #[tokio::test]
    async fn only_the_storefronts_pages_may_connect() {
        let store = FakeStore::at(shop_domain::time::parse("2026-12-01T10:00:00Z").unwrap());
        let mut foreign = event("$connect", None);
        foreign
            .headers
            .insert("origin", "https://elsewhere.example".parse().unwrap());
        assert_eq!(handle(&store, foreign).await.status_code, 403);
        let mut none = event("$connect", None);
        none.headers.remove("origin");
        assert_eq!(handle(&store, none).await.status_code, 403);
        assert!(!store.is_connected("c-1"), "a refused connection stores nothing");
        assert_eq!(handle(&store, event("$connect", None)).await.status_code, 200);
        assert!(store.is_connected("c-1"));
    }

    fn id(p: &str) -> Topic {
        Topic::Product(ProductId::parse(p).unwrap())
    }

    #[tokio::test]
    async fn a_page_connects_watches_what_it_subscribes_to_and_forgets_it_on_leaving() {
        let store = FakeStore::at(shop_domain::time::parse("2026-12-01T10:00:00Z").unwrap());
        assert_eq!(handle(&store, event("$connect", None)).await.status_code, 200);
        let subscribe = r#"{"action":"subscribe","productIds":["P1","P2"]}"#;
        assert_eq!(
            handle(&store, event("subscribe", Some(subscribe))).await.status_code,
            200
        );
        assert!(store.watching(&id("P1")).contains("c-1"));
        let order = Topic::Order(OrderId::parse("ord_01J0000000000000000000000A").unwrap());
        let narrower = r#"{"action":"subscribe","productIds":["P2"],"orderIds":["ord_01J0000000000000000000000A"]}"#;
        handle(&store, event("subscribe", Some(narrower))).await;
        assert!(
            store.watching(&id("P1")).is_empty(),
            "a new subscription replaces the old"
        );
        assert!(store.watching(&order).contains("c-1"));
        assert_eq!(handle(&store, event("$disconnect", None)).await.status_code, 200);
        assert!(store.watching(&id("P2")).is_empty());
        assert!(store.watching(&order).is_empty());
        assert!(!store.is_connected("c-1"));
    }

    #[tokio::test]
    async fn a_bad_subscription_is_400_and_changes_nothing() {
        let store = FakeStore::at(shop_domain::time::parse("2026-12-01T10:00:00Z").unwrap());
        for body in ["not json", r#"{"action":"subscribe","productIds":["bad#id"]}"#] {
            assert_eq!(handle(&store, event("subscribe", Some(body))).await.status_code, 400);
        }
        assert!(store.watching(&id("P1")).is_empty());
        assert_eq!(handle(&store, event("$unknown", None)).await.status_code, 400);
    }
}
