//! Checkout: idempotency, payments, crash recovery and the stock it sells.

use crate::helpers::{Reply, TestApp, number};
use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use serde_json::{Value, json};
use shop_payments::test_methods;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// A shop with three products: A ($20.00 × 10 in stock), B ($7.50 × 10), C ($60.00 × 2).
pub async fn shop() -> TestApp {
    let app = TestApp::spawn().await;
    for (id, amount, on_hand) in [("A", 20_00, 10), ("B", 7_50, 10), ("C", 60_00, 2)] {
        app.create_product(id, &format!("Product {id}"), "electronics-headphones", amount)
            .await;
        assert_eq!(app.set_stock(id, on_hand).await.status, 200);
    }
    app
}

pub fn order_body(payment_method: &str) -> String {
    json!({
        "shippingAddress": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postalCode": "NW1 6XE",
            "country": "GB",
        },
        "paymentMethodId": payment_method,
    })
    .to_string()
}

/// `POST /orders` with an `Idempotency-Key`; `Err` if the connection broke.
pub async fn try_checkout(app: &TestApp, token: &str, key: &str, body: &str) -> Result<Reply, reqwest::Error> {
    app.try_send(
        Method::POST,
        "/orders",
        Some(token),
        Some(body),
        &[("Idempotency-Key", key)],
    )
    .await
}

pub async fn checkout(app: &TestApp, token: &str, key: &str, body: &str) -> Reply {
    try_checkout(app, token, key, body).await.expect("the API answers")
}

/// Every item whose key starts with `prefix`.
async fn items(app: &TestApp, prefix: &str) -> Vec<Item> {
    app.snapshot()
        .await
        .into_iter()
        .filter(|i| matches!(i.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with(prefix)))
        .collect()
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

/// (charges that kept the money, charges refunded, declined attempts)
async fn charges(app: &TestApp) -> (usize, usize, usize) {
    app.charges().await
}

async fn orders(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app.send(Method::GET, "/orders?limit=100", Some(token), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["orders"].as_array().unwrap().clone()
}

async fn cart(app: &TestApp, token: &str) -> Value {
    app.send(Method::GET, "/cart", Some(token), None).await.body
}

/// Each product's (available, reserved, sold), summed over its shards.
async fn stock(app: &TestApp, product: &str) -> (i64, i64, i64) {
    app.assert_stock_invariant(product).await;
    app.stock_shards(product)
        .await
        .iter()
        .fold((0, 0, 0), |(a, r, s), shard| {
            (
                a + number(shard, "available"),
                r + number(shard, "reserved"),
                s + number(shard, "sold"),
            )
        })
}

#[tokio::test]
async fn checkout_turns_the_cart_into_an_order_and_sells_the_reserved_units() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    assert_eq!(app.add_to_cart(&alice, "A", 2).await.status, 201);
    assert_eq!(app.add_to_cart(&alice, "B", 1).await.status, 201);

    let placed = checkout(&app, &alice, "key-1", &order_body(test_methods::VISA)).await;

    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.content_type(), "application/json");
    // $47.50: tax $3.80, shipping $5.99 (not over $50.00).
    assert_eq!(placed.body["subtotal"], json!({ "amount": 47_50, "currency": "USD" }));
    assert_eq!(placed.body["tax"]["amount"], 3_80);
    assert_eq!(placed.body["shipping"]["amount"], 5_99);
    assert_eq!(placed.body["total"]["amount"], 57_29);
    assert_eq!(placed.body["status"], "confirmed");
    assert!(placed.body["estimatedDelivery"].as_str().unwrap().len() == 10);
    assert!(placed.headers.get("idempotent-replayed").is_none());

    assert_eq!(stock(&app, "A").await, (8, 0, 2));
    assert_eq!(stock(&app, "B").await, (9, 0, 1));
    assert_eq!(cart(&app, &alice).await["items"], json!([]));
    assert_eq!(charges(&app).await, (1, 0, 0));
    let events = items(&app, "OUTBOX#").await;
    assert_eq!(events.len(), 1);
    assert_eq!(text(&events[0], "type"), Some("OrderPlaced"));

    let id = placed.body["orderId"].as_str().unwrap();
    let detail = app
        .send(Method::GET, &format!("/orders/{id}"), Some(&alice), None)
        .await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["lines"].as_array().unwrap().len(), 2);
    assert_eq!(detail.body["shippingAddress"]["city"], "London");
    assert_eq!(detail.body["history"][0]["status"], "confirmed");
    assert_eq!(detail.body["total"], placed.body["total"]);
    app.stop().await;
}

#[tokio::test]
async fn the_same_key_replays_the_first_answer_byte_for_byte() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "C", 1).await;
    let body = order_body(test_methods::VISA);
    let first = checkout(&app, &alice, "same-key", &body).await;
    assert_eq!(first.status, 201);
    // $60.00 ships free.
    assert_eq!(first.body["shipping"]["amount"], 0);

    // Same body, other formatting: still the same request.
    let reformatted = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
    let again = checkout(&app, &alice, "same-key", &reformatted).await;

    assert_eq!(again.status, 201);
    assert_eq!(again.text, first.text);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(orders(&app, &alice).await.len(), 1);
    assert_eq!(charges(&app).await, (1, 0, 0));
    app.stop().await;
}

#[tokio::test]
async fn keys_are_required_scoped_to_their_user_and_bound_to_their_body() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    let bob = app.stack.token("bob", false);
    app.add_to_cart(&alice, "A", 1).await;
    app.add_to_cart(&bob, "B", 1).await;
    let body = order_body(test_methods::VISA);
    let before = app.snapshot().await;

    let missing = app.post("/orders", Some(&alice), &body).await;
    assert!(missing.problem(400, "VALIDATION_FAILED")["errors"][0]["field"] == "Idempotency-Key");
    for bad in ["has space", &"k".repeat(256)] {
        checkout(&app, &alice, bad, &body)
            .await
            .problem(400, "VALIDATION_FAILED");
    }
    assert_eq!(app.snapshot().await, before, "a refused request wrote something");

    assert_eq!(checkout(&app, &alice, "shared-key", &body).await.status, 201);
    // Another shopper's identical key is their own key.
    let bobs = checkout(&app, &bob, "shared-key", &body).await;
    assert_eq!(bobs.status, 201);
    assert_ne!(bobs.body["orderId"], Value::Null);

    let other = order_body(test_methods::DECLINED);
    checkout(&app, &alice, "shared-key", &other)
        .await
        .problem(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(orders(&app, &alice).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn fifty_identical_requests_at_once_make_one_order_and_one_charge() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 3).await;
    let body = order_body(test_methods::VISA);

    let replies = futures::future::join_all((0..50).map(|_| checkout(&app, &alice, "double-click", &body))).await;

    let placed: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    let in_use = replies.iter().filter(|r| r.status == 409).count();
    assert!(!placed.is_empty());
    assert_eq!(placed.len() + in_use, 50, "only 201s and 409s");
    for reply in replies.iter().filter(|r| r.status == 409) {
        reply.problem(409, "IDEMPOTENCY_KEY_IN_USE");
    }
    assert!(
        placed.iter().all(|r| r.text == placed[0].text),
        "every 201 is the same order"
    );
    assert_eq!(
        placed
            .iter()
            .filter(|r| r.headers.get("idempotent-replayed").is_none())
            .count(),
        1,
        "one fresh answer, the rest replays"
    );
    assert_eq!(orders(&app, &alice).await.len(), 1);
    assert_eq!(charges(&app).await, (1, 0, 0));
    assert_eq!(stock(&app, "A").await, (7, 0, 3));
    app.stop().await;
}

#[tokio::test]
async fn a_declined_card_is_402_and_leaves_the_cart_and_reservations_alone() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 2).await;
    let cart_before = cart(&app, &alice).await;

    for (method, code) in [
        (test_methods::DECLINED, "card_declined"),
        (test_methods::INSUFFICIENT_FUNDS, "insufficient_funds"),
    ] {
        let reply = checkout(&app, &alice, method, &order_body(method)).await;
        assert_eq!(reply.problem(402, "PAYMENT_FAILED")["declineCode"], code);
    }

    assert_eq!(cart(&app, &alice).await, cart_before);
    assert_eq!(stock(&app, "A").await, (8, 2, 0));
    assert_eq!(orders(&app, &alice).await.len(), 0);
    assert_eq!(charges(&app).await, (0, 0, 2));
    let audit = items(&app, "AUDIT#alice").await;
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|a| text(a, "reason") == Some("PAYMENT_FAILED")));
    // The declined answer is stored: the same key repeats it.
    let again = checkout(
        &app,
        &alice,
        test_methods::DECLINED,
        &order_body(test_methods::DECLINED),
    )
    .await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    // A new key with a good card goes through.
    assert_eq!(
        checkout(&app, &alice, "retry-visa", &order_body(test_methods::VISA))
            .await
            .status,
        201
    );
    app.stop().await;
}

#[tokio::test]
async fn an_expired_reservation_is_409_and_nothing_is_charged() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    app.stack.clock.advance(time::Duration::minutes(20));
    app.add_to_cart(&alice, "B", 1).await;
    app.stack.clock.advance(time::Duration::minutes(11));

    let reply = checkout(&app, &alice, "late", &order_body(test_methods::VISA)).await;

    let problem = reply.problem(409, "RESERVATION_EXPIRED");
    assert_eq!(problem["productIds"], json!(["A"]));
    assert_eq!(charges(&app).await, (0, 0, 0));
    assert_eq!(orders(&app, &alice).await.len(), 0);
    assert_eq!(items(&app, "AUDIT#alice").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn an_empty_cart_cannot_be_checked_out() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    checkout(&app, &alice, "empty", &order_body(test_methods::VISA))
        .await
        .problem(409, "CART_EMPTY");
    assert_eq!(charges(&app).await, (0, 0, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_provider_that_does_not_answer_is_503_and_the_key_can_be_retried() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    let body = order_body(test_methods::TIMEOUT);

    for _ in 0..2 {
        let reply = checkout(&app, &alice, "slow", &body).await;
        reply.problem(503, "SERVICE_UNAVAILABLE");
        assert!(reply.headers.contains_key("retry-after"));
    }
    assert_eq!(orders(&app, &alice).await.len(), 0);
    assert_eq!(stock(&app, "A").await, (9, 1, 0));
    app.stop().await;
}

#[tokio::test]
async fn bad_checkout_requests_are_refused_and_change_nothing() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    let before = app.snapshot().await;
    let good: Value = serde_json::from_str(&order_body(test_methods::VISA)).unwrap();
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body.to_string()
    };

    for (body, field) in [
        (
            with("/shippingAddress/country", json!("Britain")),
            "shippingAddress.country",
        ),
        (with("/shippingAddress/name", json!("")), "shippingAddress.name"),
        (
            with("/shippingAddress/city", json!("x".repeat(101))),
            "shippingAddress.city",
        ),
        (
            with("/shippingAddress/postalCode", json!(12345)),
            "shippingAddress.postalCode",
        ),
        (with("/paymentMethodId", json!("4242424242424242")), "paymentMethodId"),
        (with("/paymentMethodId", json!(null)), "paymentMethodId"),
        (
            json!({ "paymentMethodId": "pm_card_visa" }).to_string(),
            "shippingAddress",
        ),
        (with("/shippingAddress", json!("London")), "shippingAddress"),
    ] {
        let reply = checkout(&app, &alice, "k", &body).await;
        reply.problem(400, "VALIDATION_FAILED");
        assert!(
            reply.fields().contains(&field.to_owned()),
            "{body}: {:?}",
            reply.fields()
        );
    }
    let mut extra = good.clone();
    extra["userId"] = json!("bob");
    checkout(&app, &alice, "k", &extra.to_string())
        .await
        .problem(400, "VALIDATION_FAILED");
    checkout(&app, &alice, "k", "{nope")
        .await
        .problem(400, "MALFORMED_JSON");
    let huge = with("/shippingAddress/line1", json!("x".repeat(70_000)));
    checkout(&app, &alice, "k", &huge)
        .await
        .problem(413, "PAYLOAD_TOO_LARGE");
    app.try_send(
        Method::POST,
        "/orders",
        None,
        Some(&good.to_string()),
        &[("Idempotency-Key", "k")],
    )
    .await
    .unwrap()
    .problem(401, "UNAUTHORIZED");

    assert_eq!(app.snapshot().await, before, "a refused request wrote something");
    app.stop().await;
}

#[tokio::test]
async fn orders_are_listed_newest_first_a_page_at_a_time_and_only_to_their_owner() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    let bob = app.stack.token("bob", false);
    let mut placed = Vec::new();
    for key in ["o1", "o2", "o3"] {
        app.add_to_cart(&alice, "B", 1).await;
        let reply = checkout(&app, &alice, key, &order_body(test_methods::VISA)).await;
        placed.push(reply.body["orderId"].as_str().unwrap().to_owned());
        app.stack.clock.advance(time::Duration::seconds(1));
    }

    let first = app.send(Method::GET, "/orders?limit=2", Some(&alice), None).await;
    let ids: Vec<&str> = first.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [placed[2].as_str(), placed[1].as_str()]);
    assert_eq!(first.body["hasMore"], true);
    let next = first.body["nextPage"].as_str().unwrap();
    let second = app
        .send(Method::GET, &format!("/orders?limit=2&page={next}"), Some(&alice), None)
        .await;
    assert_eq!(second.body["orders"][0]["orderId"], placed[0].as_str());

    assert_eq!(orders(&app, &bob).await.len(), 0);
    app.send(Method::GET, &format!("/orders/{}", placed[0]), Some(&bob), None)
        .await
        .problem(404, "NOT_FOUND");
    app.send(Method::POST, &format!("/orders/{}/cancel", placed[0]), Some(&bob), None)
        .await
        .problem(404, "NOT_FOUND");
    app.send(
        Method::GET,
        "/orders/ord_00000000000000000000000000",
        Some(&alice),
        None,
    )
    .await
    .problem(404, "NOT_FOUND");
    app.send(Method::GET, "/orders/not-an-order", Some(&alice), None)
        .await
        .problem(400, "VALIDATION_FAILED");
    for query in ["limit=0", "limit=101", "page=%21%21", "sort=new"] {
        app.send(Method::GET, &format!("/orders?{query}"), Some(&alice), None)
            .await
            .problem(400, "VALIDATION_FAILED");
    }
    app.send(Method::GET, "/orders", None, None)
        .await
        .problem(401, "UNAUTHORIZED");
    app.stop().await;
}

/// The shop's own metrics (docs/operations.md) count what happened: one
/// order placed, one decline, the replays, and a cart add refused for
/// want of stock. (A recorder local to this test's thread: the runner
/// serves on the same thread, and no other test sees it.)
#[tokio::test]
async fn checkout_and_cart_outcomes_are_counted_as_metrics() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use shop_edge::metrics::{IDEMPOTENT_REPLAYS, ORDERS_PLACED, PAYMENT_DECLINES, RESERVATIONS_REFUSED};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 2).await;
    let declined = order_body(test_methods::DECLINED);
    assert_eq!(checkout(&app, &alice, "declined", &declined).await.status, 402);
    assert_eq!(checkout(&app, &alice, "declined", &declined).await.status, 402);
    let visa = order_body(test_methods::VISA);
    assert_eq!(checkout(&app, &alice, "visa", &visa).await.status, 201);
    assert_eq!(checkout(&app, &alice, "visa", &visa).await.status, 201);
    let bob = app.stack.token("bob", false);
    assert_eq!(app.add_to_cart(&bob, "C", 3).await.status, 409);
    // One snapshot: taking it drains what was counted.
    let snapshot: Vec<(String, DebugValue)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key.key().name().to_owned(), value))
        .collect();
    let counted = |name: &str| {
        snapshot
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| match value {
                DebugValue::Counter(n) => *n,
                other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum::<u64>()
    };
    assert_eq!(counted(ORDERS_PLACED), 1);
    assert_eq!(counted(PAYMENT_DECLINES), 1);
    assert_eq!(counted(IDEMPOTENT_REPLAYS), 2);
    assert_eq!(counted(RESERVATIONS_REFUSED), 1);
    app.stop().await;
}
