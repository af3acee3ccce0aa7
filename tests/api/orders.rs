//! After checkout: cancelling (stock back, refund) and fulfilment steps.

use crate::checkout::{checkout, order_body, shop};
use crate::helpers::{TestApp, number};
use reqwest::Method;
use serde_json::json;
use shop_payments::test_methods;

async fn placed_order(app: &TestApp, token: &str) -> String {
    assert_eq!(app.add_to_cart(token, "A", 2).await.status, 201);
    let reply = checkout(app, token, "order-key", &order_body(test_methods::VISA)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["orderId"].as_str().unwrap().to_owned()
}

async fn set_status(app: &TestApp, id: &str, body: serde_json::Value) -> crate::helpers::Reply {
    app.post(
        &format!("/admin/orders/{id}/status"),
        Some(&app.admin()),
        &body.to_string(),
    )
    .await
}

async fn available(app: &TestApp, product: &str) -> i64 {
    app.assert_stock_invariant(product).await;
    app.stock_shards(product)
        .await
        .iter()
        .map(|s| number(s, "available"))
        .sum()
}

#[tokio::test]
async fn cancelling_before_shipping_returns_the_stock_and_refunds_the_charge() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    let id = placed_order(&app, &alice).await;
    assert_eq!(available(&app, "A").await, 8);
    assert_eq!(set_status(&app, &id, json!({ "status": "packed" })).await.status, 200);

    let cancelled = app
        .send(Method::POST, &format!("/orders/{id}/cancel"), Some(&alice), None)
        .await;

    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["refunded"], true);
    let history: Vec<&str> = cancelled.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["confirmed", "packed", "cancelled"]);
    assert_eq!(available(&app, "A").await, 10);
    assert_eq!(app.charges().await, (0, 1, 0), "the one charge was refunded");
    app.assert_ledger_adds_up().await;

    // Cancelling again changes nothing and still answers the order.
    let again = app
        .send(Method::POST, &format!("/orders/{id}/cancel"), Some(&alice), None)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(available(&app, "A").await, 10);
    app.stop().await;
}

#[tokio::test]
async fn fulfilment_goes_step_by_step_and_a_shipped_order_cannot_be_cancelled() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    let id = placed_order(&app, &alice).await;

    set_status(&app, &id, json!({ "status": "shipped", "trackingNumber": "1Z999" }))
        .await
        .problem(409, "ILLEGAL_STATUS_TRANSITION");
    assert_eq!(set_status(&app, &id, json!({ "status": "packed" })).await.status, 200);
    set_status(&app, &id, json!({ "status": "shipped" }))
        .await
        .problem(400, "VALIDATION_FAILED");
    let shipped = set_status(&app, &id, json!({ "status": "shipped", "trackingNumber": "1Z999" })).await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    assert_eq!(shipped.body["trackingNumber"], "1Z999");

    let refused = app
        .send(Method::POST, &format!("/orders/{id}/cancel"), Some(&alice), None)
        .await;
    assert_eq!(refused.problem(409, "ORDER_NOT_CANCELLABLE")["orderStatus"], "shipped");
    assert_eq!(available(&app, "A").await, 8, "nothing returned");

    assert_eq!(
        set_status(&app, &id, json!({ "status": "delivered" })).await.status,
        200
    );
    set_status(&app, &id, json!({ "status": "packed" }))
        .await
        .problem(409, "ILLEGAL_STATUS_TRANSITION");
    let detail = app
        .send(Method::GET, &format!("/orders/{id}"), Some(&alice), None)
        .await;
    let history: Vec<&str> = detail.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["confirmed", "packed", "shipped", "delivered"]);
    app.stop().await;
}

#[tokio::test]
async fn bad_status_changes_are_refused() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    let id = placed_order(&app, &alice).await;
    let before = app.snapshot().await;

    set_status(&app, &id, json!({ "status": "lost" }))
        .await
        .problem(400, "VALIDATION_FAILED");
    set_status(&app, &id, json!({ "status": "packed", "trackingNumber": "X1" }))
        .await
        .problem(400, "VALIDATION_FAILED");
    set_status(&app, &id, json!({})).await.problem(400, "VALIDATION_FAILED");
    set_status(&app, "ord_00000000000000000000000000", json!({ "status": "packed" }))
        .await
        .problem(404, "NOT_FOUND");
    app.post(
        &format!("/admin/orders/{id}/status"),
        Some(&alice),
        r#"{"status": "packed"}"#,
    )
    .await
    .problem(403, "FORBIDDEN");
    assert_eq!(app.snapshot().await, before);
    app.stop().await;
}
