//! A checkout that dies half-way (crash injected with `fail` points in
//! `shared::checkout`) converges on its retry: exactly one order and one
//! charge, or none with the charge refunded. Fail points are global to the
//! process: nextest runs every test in its own process.

use crate::checkout::{checkout, order_body, shop, try_checkout};
use crate::helpers::{TestApp, number};
use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use shared::payments::test_methods;

/// Sends a checkout that crashes at `point` and checks the client saw it fail.
async fn crash_at(app: &TestApp, token: &str, point: &str) {
    fail::cfg(point, "1*panic(crash injected)").unwrap();
    let reply = try_checkout(app, token, "crashy", &order_body(test_methods::VISA)).await;
    assert!(
        reply.as_ref().map_or(true, |r| r.status.is_server_error()),
        "the crash did not reach the client: {:?}",
        reply.map(|r| r.status)
    );
    fail::remove(point);
}

/// (charges kept, charges refunded)
async fn charges(app: &TestApp) -> (usize, usize) {
    let all: Vec<_> = app
        .snapshot()
        .await
        .into_iter()
        .filter(|i| matches!(i.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with("CHARGE#")))
        .collect();
    let refunded = all.iter().filter(|c| c.contains_key("refundId")).count();
    (all.len() - refunded, refunded)
}

async fn order_count(app: &TestApp, token: &str) -> usize {
    let reply = app.send(Method::GET, "/orders", Some(token), None).await;
    reply.body["orders"].as_array().unwrap().len()
}

async fn sold(app: &TestApp, product: &str) -> i64 {
    app.assert_stock_invariant(product).await;
    app.stock_shards(product).await.iter().map(|s| number(s, "sold")).sum()
}

/// The lock a dead run left has expired.
fn after_the_lock(app: &TestApp) {
    app.stack
        .clock
        .advance(shared::idempotency::LOCK_TTL + time::Duration::seconds(1));
}

#[tokio::test]
async fn a_crash_before_the_charge_is_retried_once_the_lock_expires() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    crash_at(&app, &alice, "checkout-before-charge").await;

    let too_soon = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;
    too_soon.problem(409, "IDEMPOTENCY_KEY_IN_USE");
    after_the_lock(&app);
    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;

    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(order_count(&app, &alice).await, 1);
    assert_eq!(charges(&app).await, (1, 0));
    assert_eq!(sold(&app, "A").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_crash_after_the_charge_reuses_that_charge_on_retry() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 2).await;
    crash_at(&app, &alice, "checkout-after-charge").await;
    assert_eq!(charges(&app).await, (1, 0), "the dead run charged");

    after_the_lock(&app);
    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;

    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(order_count(&app, &alice).await, 1);
    assert_eq!(charges(&app).await, (1, 0), "the same charge, not a second one");
    assert_eq!(sold(&app, "A").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn a_crash_after_the_commit_is_answered_by_a_replay() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    crash_at(&app, &alice, "checkout-after-commit").await;

    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;

    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(retried.headers["idempotent-replayed"], "true");
    assert_eq!(order_count(&app, &alice).await, 1);
    assert_eq!(charges(&app).await, (1, 0));
    assert_eq!(sold(&app, "A").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_cart_changed_after_a_crash_refunds_the_old_charge_and_charges_the_new_total() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    app.add_to_cart(&alice, "B", 1).await;
    crash_at(&app, &alice, "checkout-after-charge").await;
    let removed = app.send(Method::DELETE, "/cart/items/B", Some(&alice), None).await;
    assert_eq!(removed.status, 204);

    after_the_lock(&app);
    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;

    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(retried.body["subtotal"]["amount"], 20_00);
    assert_eq!(order_count(&app, &alice).await, 1);
    assert_eq!(charges(&app).await, (1, 1), "one charge kept, the stale one refunded");
    assert_eq!(sold(&app, "A").await, 1);
    assert_eq!(sold(&app, "B").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_lost_after_a_crash_ends_with_no_order_and_the_charge_refunded() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    crash_at(&app, &alice, "checkout-after-charge").await;

    app.stack.clock.advance(time::Duration::minutes(31));
    let store = shared::store::DynamoStore::new(app.stack.dynamodb.clone(), app.stack.table());
    let released = sweep_reservations::sweep(&store, app.stack.clock.now()).await.unwrap();
    assert_eq!(released, 1);
    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;

    retried.problem(409, "CART_EMPTY");
    assert_eq!(order_count(&app, &alice).await, 0);
    assert_eq!(charges(&app).await, (0, 1));
    assert_eq!(sold(&app, "A").await, 0);
    app.stop().await;
}
