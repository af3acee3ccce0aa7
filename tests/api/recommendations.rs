//! "Customers also bought": placed orders → outbox → relay → SQS →
//! recommendation updater → `GET /products/{id}/recommendations`.

use crate::checkout::{checkout, order_body};
use crate::helpers::{TestApp, with_pipeline, within};
use serde_json::Value;
use std::time::Duration;

pub(crate) const CATEGORY: &str = "toys-games-board-games";

async fn recommendations(app: &TestApp, product: &str) -> Value {
    let reply = app.get(&format!("/products/{product}/recommendations")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn ids(body: &Value) -> Vec<String> {
    body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["productId"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `product`'s recommendations are co-purchases listing `expected`.
pub(crate) async fn also_bought(app: &TestApp, product: &str, expected: &[&str]) {
    within(Duration::from_secs(10), "co-purchases are counted", async || {
        let body = recommendations(app, product).await;
        (body["basis"] == "alsoBought" && ids(&body) == expected).then_some(())
    })
    .await;
}

pub(crate) async fn buy(app: &TestApp, shopper: &str, products: &[(&str, i64)]) -> String {
    let token = app.stack.token(shopper, false);
    for (product, quantity) in products {
        assert_eq!(app.add_to_cart(&token, product, *quantity).await.status, 201);
    }
    let reply = checkout(app, &token, &format!("key-{shopper}"), &order_body("pm_card_visa")).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["orderId"].as_str().unwrap().to_owned()
}

/// Whether the queue has nothing waiting and nothing in flight.
async fn settled(app: &TestApp, queue: &str) -> bool {
    crate::events::queued(app, queue).await == 0
}

#[tokio::test]
async fn placed_orders_are_counted_once_and_recommended_best_first_with_fallbacks() {
    let app = with_pipeline(0).await;
    for (id, title) in [
        ("A", "Chess Set"),
        ("B", "Go Board"),
        ("C", "Dice"),
        ("D", "Cards"),
        ("E", "Puzzle"),
    ] {
        app.create_product(id, title, CATEGORY, 1500).await;
        assert_eq!(app.set_stock(id, 50).await.status, 200);
    }

    // Before any order: the category's best rated.
    let body = recommendations(&app, "E").await;
    assert_eq!(body["basis"], "categoryTopRated");
    let mut top_rated = ids(&body);
    top_rated.sort();
    assert_eq!(
        top_rated,
        ["A", "B", "C", "D"],
        "everything else in the category, never itself"
    );

    let first = buy(&app, "ann", &[("A", 1), ("B", 1), ("C", 1)]).await;
    buy(&app, "bob", &[("A", 2), ("B", 1)]).await;
    buy(&app, "cat", &[("D", 1), ("A", 1)]).await;

    also_bought(&app, "A", &["B", "C", "D"]).await;
    also_bought(&app, "B", &["A", "C"]).await;
    also_bought(&app, "D", &["A"]).await;

    // The first order's event delivered again, three times: nothing counts twice.
    let event = serde_json::json!({
        "eventId": format!("{first}-OrderPlaced-v1"), "type": "OrderPlaced", "orderId": first,
        "version": 1, "occurredAt": "2026-11-26T09:00:00Z",
        "payload": {
            "orderId": first, "userId": "ann", "status": "confirmed", "total": { "amount": 4860, "currency": "USD" },
            "lines": [{ "productId": "A", "quantity": 1 }, { "productId": "B", "quantity": 1 }, { "productId": "C", "quantity": 1 }]
        }
    });
    let sqs = app.stack.sqs.clone().unwrap();
    for _ in 0..3 {
        sqs.send_message()
            .queue_url(&app.stack.queues["RecommendationQueue"].url)
            .message_body(event.to_string())
            .send()
            .await
            .unwrap();
    }
    within(Duration::from_secs(10), "the duplicates are consumed", async || {
        settled(&app, "RecommendationQueue").await.then_some(())
    })
    .await;
    also_bought(&app, "A", &["B", "C", "D"]).await;
    let counts = app.snapshot().await;
    let pair = counts
        .iter()
        .find(|i| {
            i.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("ALSO#A")
                && i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("WITH#C")
        })
        .expect("A was bought with C");
    assert_eq!(
        crate::helpers::number(pair, "count"),
        1,
        "counted once despite four deliveries"
    );

    // E was never bought: its category's best sellers (units: A 4, B 2, C 1, D 1).
    let body = recommendations(&app, "E").await;
    assert_eq!(body["basis"], "categoryBestSellers");
    let best = ids(&body);
    assert_eq!(best[..2], ["A", "B"]);
    assert_eq!(best.len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn bad_recommendation_requests_are_refused() {
    let app = TestApp::seeded(3).await;
    for (path, status) in [
        ("/products/P0000001/recommendations?limit=0", 400),
        ("/products/P0000001/recommendations?limit=21", 400),
        ("/products/P0000001/recommendations?limit=ten", 400),
        ("/products/P0000001/recommendations?sort=price", 400),
        ("/products/bad%23id/recommendations", 400),
        ("/products/P9999999/recommendations", 404),
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert_eq!(reply.content_type(), "application/problem+json", "{path}");
    }
    let body = recommendations(&app, "P0000001").await;
    assert!(!ids(&body).contains(&"P0000001".to_owned()));
    app.stop().await;
}
