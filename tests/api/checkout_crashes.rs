//! A checkout that dies half-way (crash injected with `fail` points in
//! `shop_orders::checkout`) converges on its retry: exactly one order and one
//! charge, or none with the charge refunded. Fail points are global to the
//! process: nextest runs every test in its own process.

use crate::checkout::{checkout, order_body, shop, try_checkout};
use crate::helpers::{TestApp, number};
use reqwest::Method;
use shop_payments::test_methods;

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
    let (kept, refunded, _) = app.charges().await;
    (kept, refunded)
}

async fn order_count(app: &TestApp, token: &str) -> usize {
    let reply = app.send(Method::GET, "/orders", Some(token), None).await;
    reply.body["orders"].as_array().unwrap().len()
}

async fn sold(app: &TestApp, product: &str) -> i64 {
    app.assert_stock_invariant(product).await;
    app.stock_shards(product).await.iter().map(|s| number(s, "sold")).sum()
}

/// Alice's checkout of A and B dies after charging them, then she removes
/// B: the payment no longer matches her cart.
async fn charged_then_cart_changed(app: &TestApp) -> String {
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    app.add_to_cart(&alice, "B", 1).await;
    crash_at(app, &alice, "checkout-after-charge").await;
    let removed = app.send(Method::DELETE, "/cart/items/B", Some(&alice), None).await;
    assert_eq!(removed.status, 204);
    alice
}

/// The lock a dead run left has expired.
fn after_the_lock(app: &TestApp) {
    app.stack
        .clock
        .advance(shop_domain::idempotency::LOCK_TTL + time::Duration::seconds(1));
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
    let alice = charged_then_cart_changed(&app).await;

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
    let store = shop_store::DynamoStore::new(app.stack.dynamodb.clone(), app.stack.table());
    let released = sweep_reservations::sweep(&store, app.stack.clock.now()).await.released;
    assert_eq!(released, 1);
    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;

    retried.problem(409, "CART_EMPTY");
    assert_eq!(order_count(&app, &alice).await, 0);
    assert_eq!(charges(&app).await, (0, 1));
    assert_eq!(sold(&app, "A").await, 0);
    app.stop().await;
}

/// Runs the payment reconciler once the dead attempt's lock ran out and
/// the shopper had time to retry.
async fn reconcile_later(app: &TestApp) -> shop_orders::reconcile::Reconciled {
    app.stack.clock.advance(
        shop_domain::idempotency::LOCK_TTL + shop_orders::reconcile::RECONCILE_AFTER + time::Duration::seconds(1),
    );
    reconcile(app).await
}

async fn reconcile(app: &TestApp) -> shop_orders::reconcile::Reconciled {
    let store = app.store();
    let payments = shop_payments::simulated::SimulatedProvider::new(store.clone());
    reconcile_payments::run(&store, &payments, app.stack.clock.now())
        .await
        .expect("the reconciler runs")
}

/// Issue 11, finding 2: a retry whose refund was made but not yet
/// forgotten (the run died between the two) must finish the refund and
/// charge anew, never place the order on the refunded payment, even when
/// the cart is back to the total that payment was for.
#[tokio::test]
async fn a_crash_between_a_refund_and_forgetting_it_never_leaves_an_order_on_refunded_money() {
    let app = shop().await;
    let alice = charged_then_cart_changed(&app).await;

    // The retry refunds the stale payment, then dies before forgetting it.
    after_the_lock(&app);
    crash_at(&app, &alice, "checkout-after-refund").await;
    assert_eq!(charges(&app).await, (0, 1), "the refund was made");

    // The cart is back to the refunded payment's total.
    assert_eq!(app.add_to_cart(&alice, "B", 1).await.status, 201);
    after_the_lock(&app);
    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;

    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(order_count(&app, &alice).await, 1);
    assert_eq!(
        charges(&app).await,
        (1, 1),
        "a new payment, the refunded one left alone"
    );
    assert_eq!(sold(&app, "A").await, 1);
    assert_eq!(sold(&app, "B").await, 1);
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

#[tokio::test]
async fn the_reconciler_places_the_order_a_crash_after_the_charge_left_behind() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 2).await;
    crash_at(&app, &alice, "checkout-after-charge").await;
    assert_eq!(charges(&app).await, (1, 0));

    let run = reconcile_later(&app).await;

    assert_eq!(run.checkouts_answered, ["ORDER_PLACED"]);
    assert_eq!(order_count(&app, &alice).await, 1);
    assert_eq!(charges(&app).await, (1, 0), "the charge made before the crash, kept");
    assert_eq!(sold(&app, "A").await, 2);
    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;
    assert_eq!(retried.status, 201);
    assert_eq!(retried.headers["idempotent-replayed"], "true");
    assert_eq!(
        reconcile(&app).await,
        shop_orders::reconcile::Reconciled::default(),
        "nothing left to do"
    );
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

#[tokio::test]
async fn the_reconciler_refunds_a_charge_whose_cart_changed_and_charges_nothing() {
    let app = shop().await;
    let alice = charged_then_cart_changed(&app).await;

    let run = reconcile_later(&app).await;

    assert_eq!(run.checkouts_answered, ["CHECKOUT_INTERRUPTED"]);
    assert_eq!(order_count(&app, &alice).await, 0);
    assert_eq!(charges(&app).await, (0, 1));
    assert_eq!(sold(&app, "A").await, 0);
    let retried = checkout(&app, &alice, "crashy", &order_body(test_methods::VISA)).await;
    retried.problem(409, "CHECKOUT_INTERRUPTED");
    assert_eq!(retried.headers["idempotent-replayed"], "true");
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

#[tokio::test]
async fn the_reconciler_cancels_a_payment_that_was_created_but_never_charged() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    let timed_out = checkout(&app, &alice, "slow", &order_body(test_methods::TIMEOUT)).await;
    timed_out.problem(503, "SERVICE_UNAVAILABLE");

    let run = reconcile_later(&app).await;

    assert_eq!(run.checkouts_answered, ["CHECKOUT_INTERRUPTED"]);
    let payments = app.payments().await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].state, shop_domain::payment::PaymentState::Cancelled);
    assert_eq!(order_count(&app, &alice).await, 0);
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_orders_refund_that_failed_is_made_by_the_reconciler() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    let placed = checkout(&app, &alice, "k1", &order_body(test_methods::VISA)).await;
    let id = placed.body["orderId"].as_str().unwrap().to_owned();

    fail::cfg("payments-refund-unavailable", "return").unwrap();
    let cancelled = app
        .send(Method::POST, &format!("/orders/{id}/cancel"), Some(&alice), None)
        .await;
    cancelled.problem(503, "SERVICE_UNAVAILABLE");
    assert_eq!(charges(&app).await, (1, 0), "not refunded yet");
    // Owed, so in flight: the books still add up.
    assert_eq!(app.assert_ledger_adds_up().await.totals.refunds_owed, 1);

    let run = reconcile_later(&app).await;
    assert_eq!((run.refunds_made, run.failed), (0, 1), "still down");
    fail::remove("payments-refund-unavailable");
    let run = reconcile_later(&app).await;

    assert_eq!(run.refunds_made, 1);
    assert_eq!(charges(&app).await, (0, 1));
    let order = app
        .send(Method::GET, &format!("/orders/{id}"), Some(&alice), None)
        .await;
    assert_eq!(order.body["refunded"], true);
    assert_eq!(app.assert_ledger_adds_up().await.totals.refunds_owed, 0);
    app.stop().await;
}

#[tokio::test]
async fn what_the_reconciler_cannot_settle_after_five_tries_raises_the_alarm() {
    let app = shop().await;
    let alice = charged_then_cart_changed(&app).await;
    fail::cfg("payments-refund-unavailable", "return").unwrap();

    let mut stuck = Vec::new();
    for _ in 0..shop_orders::reconcile::ALARM_AFTER_TRIES {
        let run = reconcile_later(&app).await;
        assert_eq!(run.failed, 1);
        stuck = run.stuck;
    }
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert!(stuck[0].contains("checkout alice/crashy"), "{stuck:?}");
    // The payment is marked for refund, so nothing can ever use it.
    assert_eq!(order_count(&app, &alice).await, 0);

    fail::remove("payments-refund-unavailable");
    let run = reconcile_later(&app).await;
    assert_eq!(
        (run.checkouts_answered.as_slice(), run.stuck.len()),
        (["CHECKOUT_INTERRUPTED"].as_slice(), 0)
    );
    assert_eq!(charges(&app).await, (0, 1));
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

/// The provider charged the card but its answer never arrived: the payment
/// is read back, found charged, and the order placed, with one charge.
#[tokio::test]
async fn a_charge_whose_answer_is_lost_is_read_back_and_kept() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    fail::cfg("payments-confirm-answer-lost", "1*return").unwrap();

    let placed = checkout(&app, &alice, "k1", &order_body(test_methods::VISA)).await;

    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(order_count(&app, &alice).await, 1);
    assert_eq!(charges(&app).await, (1, 0));
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

/// A refund made but whose answer was lost leaves the refund owed; the
/// reconciler asks again, the provider answers "refunded", and the order
/// is marked refunded, with one refund.
#[tokio::test]
async fn a_refund_whose_answer_is_lost_is_recorded_by_the_reconciler_without_refunding_twice() {
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    let placed = checkout(&app, &alice, "k1", &order_body(test_methods::VISA)).await;
    let id = placed.body["orderId"].as_str().unwrap().to_owned();
    fail::cfg("payments-refund-answer-lost", "1*return").unwrap();

    let cancelled = app
        .send(Method::POST, &format!("/orders/{id}/cancel"), Some(&alice), None)
        .await;
    cancelled.problem(503, "SERVICE_UNAVAILABLE");
    assert_eq!(charges(&app).await, (0, 1), "the money went back");
    let run = reconcile_later(&app).await;

    assert_eq!(run.refunds_made, 1);
    let order = app
        .send(Method::GET, &format!("/orders/{id}"), Some(&alice), None)
        .await;
    assert_eq!(order.body["refunded"], true);
    assert_eq!(charges(&app).await, (0, 1));
    assert_eq!(app.assert_ledger_adds_up().await.totals.refunds_owed, 0);
    app.stop().await;
}

/// A retry takes the key over from an attempt that outlived its lock just
/// after that attempt marked its payment for refund, and before its refund
/// went through. The retry must see the mark (it reads the record as its
/// take-over left it): the order goes on a new payment, never on the one
/// being refunded.
#[tokio::test]
async fn a_retry_that_takes_over_sees_the_refund_the_slow_attempt_started() {
    use shop_domain::payment::PaymentState;
    use shop_payments::PaymentProvider;
    let app = shop().await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    crash_at(&app, &alice, "checkout-after-charge").await;
    let first = app.payments().await.remove(0);
    assert_eq!(first.state, PaymentState::Succeeded);
    after_the_lock(&app);

    // The retry reads the record, then stalls before taking it over; the
    // slow attempt (still attempt 1) marks its payment for refund.
    fail::cfg("claim-before-resume", "return(600)").unwrap();
    let body = order_body(test_methods::VISA);
    let retry = checkout(&app, &alice, "crashy", &body);
    let slow_attempt = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
        app.stack
            .dynamodb
            .update_item()
            .table_name(app.stack.table())
            .key("pk", s("IDEMPOTENCY#alice#crashy"))
            .key("sk", s("IDEMPOTENCY"))
            .update_expression("SET payment.refunding = :yes")
            .condition_expression("attempt = :one")
            .expression_attribute_values(":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .expression_attribute_values(":one", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
            .send()
            .await
            .expect("the slow attempt still holds the record");
    };
    let (retried, ()) = futures::join!(retry, slow_attempt);
    fail::remove("claim-before-resume");
    // The slow attempt's refund goes through late.
    let payments = shop_payments::simulated::SimulatedProvider::new(app.store());
    payments.refund(&first.id).await.expect("refunded");

    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(charges(&app).await, (1, 1), "a new payment kept, the first refunded");
    let kept = app
        .payments()
        .await
        .into_iter()
        .find(|p| p.state == PaymentState::Succeeded)
        .unwrap();
    assert_ne!(kept.id, first.id, "the order is not on the refunded payment");
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

/// The reconciler keeps a payment only for the goods it was made for: a cart
/// that now holds other goods at the same total is not bought.
#[tokio::test]
async fn the_reconciler_does_not_buy_other_goods_that_cost_the_same() {
    let app = shop().await;
    app.create_product("A2", "Product A2", "electronics-headphones", 20_00)
        .await;
    assert_eq!(app.set_stock("A2", 5).await.status, 200);
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "A", 1).await;
    crash_at(&app, &alice, "checkout-after-charge").await;
    app.send(Method::DELETE, "/cart/items/A", Some(&alice), None).await;
    assert_eq!(app.add_to_cart(&alice, "A2", 1).await.status, 201);

    let run = reconcile_later(&app).await;

    assert_eq!(run.checkouts_answered, ["CHECKOUT_INTERRUPTED"]);
    assert_eq!(order_count(&app, &alice).await, 0);
    assert_eq!(charges(&app).await, (0, 1));
    app.assert_ledger_adds_up().await;
    app.stop().await;
}
