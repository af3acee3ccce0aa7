use crate::helpers::{TestApp, number};
use aws_sdk_dynamodb::types::AttributeValue;

async fn product_with_stock(app: &TestApp, id: &str, on_hand: i64) {
    app.create_product(id, "Stocked", "pet-supplies-dog", 1500).await;
    let set = app.set_stock(id, on_hand).await;
    assert_eq!(set.status, 200, "{}", set.body);
}

/// Moves units from available to reserved the way a cart reservation does
/// (the cart functions come later; the stock item's shape is what matters).
async fn reserve_directly(app: &TestApp, id: &str, units: i64) -> bool {
    app.stack
        .dynamodb
        .update_item()
        .table_name(app.stack.table())
        .key("pk", AttributeValue::S(format!("PRODUCT#{id}")))
        .key("sk", AttributeValue::S("STOCK#00".into()))
        .update_expression("SET available = available - :u, reserved = reserved + :u")
        .condition_expression("available >= :u")
        .expression_attribute_values(":u", AttributeValue::N(units.to_string()))
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn setting_stock_changes_what_can_be_bought() {
    let app = TestApp::spawn().await;
    product_with_stock(&app, "S-1", 12).await;

    let detail = app.get("/products/S-1").await;
    assert_eq!(detail.body["available"], 12);
    assert_eq!(detail.body["inStock"], true);

    let reply = app
        .put("/admin/products/S-1/stock", Some(&app.admin()), r#"{"onHand": 0}"#)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        serde_json::json!({
            "productId": "S-1", "onHand": 0, "available": 0, "reserved": 0, "sold": 0, "inStock": false,
            "shards": 1, "drainingShards": 0,
        })
    );
    assert_eq!(app.get("/products/S-1").await.body["inStock"], false);
    app.assert_stock_invariant("S-1").await;
    app.stop().await;
}

#[tokio::test]
async fn stock_can_never_be_set_below_what_is_reserved() {
    let app = TestApp::spawn().await;
    product_with_stock(&app, "S-2", 10).await;
    assert!(reserve_directly(&app, "S-2", 4).await);
    let before = app.snapshot().await;

    let refused = app
        .put("/admin/products/S-2/stock", Some(&app.admin()), r#"{"onHand": 3}"#)
        .await;

    let problem = refused.problem(409, "STOCK_BELOW_COMMITTED");
    assert_eq!(problem["committed"], 4);
    assert_eq!(problem["requested"], 3);
    assert_eq!(app.snapshot().await, before);

    let exact = app
        .put("/admin/products/S-2/stock", Some(&app.admin()), r#"{"onHand": 4}"#)
        .await;
    assert_eq!(exact.status, 200);
    assert_eq!(exact.body["available"], 0);
    assert_eq!(exact.body["reserved"], 4);
    app.assert_stock_invariant("S-2").await;
    app.stop().await;
}

#[tokio::test]
async fn concurrent_stock_changes_and_reservations_keep_the_invariant() {
    let app = TestApp::spawn().await;
    product_with_stock(&app, "S-3", 1000).await;
    let token = app.admin();

    // Admins set stock while shoppers reserve units: every write is
    // conditional, so whatever interleaving happens, the books balance.
    let admins = (0..20).map(|i| {
        let (app, token) = (&app, &token);
        async move {
            app.put(
                "/admin/products/S-3/stock",
                Some(token),
                &format!(r#"{{"onHand": {}}}"#, 500 + i * 10),
            )
            .await
            .status
        }
    });
    let reservations = (0..40).map(|_| reserve_directly(&app, "S-3", 3));
    let (statuses, reserved_ok) = futures::future::join(
        futures::future::join_all(admins),
        futures::future::join_all(reservations),
    )
    .await;

    assert!(statuses.iter().all(|s| s.as_u16() == 200), "{statuses:?}");
    assert!(
        reserved_ok.iter().all(|ok| *ok),
        "stock never ran short, so every reservation succeeds"
    );
    app.assert_stock_invariant("S-3").await;
    let detail = app.get("/products/S-3").await;
    let shards = app.stock_shards("S-3").await;
    let reserved: i64 = match &shards[0]["reserved"] {
        AttributeValue::N(n) => n.parse().unwrap(),
        _ => unreachable!(),
    };
    assert_eq!(reserved, 120, "every reservation must still be held");
    assert!(detail.body["available"].as_i64().unwrap() >= 0);
    app.stop().await;
}

#[tokio::test]
async fn bad_stock_requests_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    product_with_stock(&app, "S-4", 5).await;
    let admin = app.admin();
    let before = app.snapshot().await;

    for body in [
        r#"{"onHand": -1}"#,
        r#"{"onHand": 10000001}"#,
        r#"{"onHand": 99999999999999999999}"#,
        r#"{"onHand": 2.5}"#,
        r#"{"onHand": "7"}"#,
        r#"{}"#,
        r#"{"onHand": 1, "sold": 3}"#,
        r#"{"onHand": 1, "shards": 0}"#,
        r#"{"onHand": 1, "shards": 17}"#,
        r#"{"onHand": 1, "shards": -2}"#,
        r#"{"onHand": 1, "shards": 1.5}"#,
        r#"{"onHand": 1, "shards": "4"}"#,
    ] {
        let reply = app.put("/admin/products/S-4/stock", Some(&admin), body).await;
        reply.problem(400, "VALIDATION_FAILED");
        assert!(!reply.fields().is_empty(), "{body}: no field named");
    }
    app.put("/admin/products/S-4/stock", Some(&admin), "{oops")
        .await
        .problem(400, "MALFORMED_JSON");
    app.put(
        "/admin/products/S-4/stock",
        Some(&admin),
        &format!(r#"{{"onHand": 1, "pad": "{}"}}"#, "x".repeat(70_000)),
    )
    .await
    .problem(413, "PAYLOAD_TOO_LARGE");
    app.put("/admin/products/NOPE/stock", Some(&admin), r#"{"onHand": 1}"#)
        .await
        .problem(404, "NOT_FOUND");
    app.put("/admin/products/S-4/stock", None, r#"{"onHand": 1}"#)
        .await
        .problem(401, "UNAUTHORIZED");
    app.put("/admin/products/S-4/stock", Some(&app.shopper()), r#"{"onHand": 1}"#)
        .await
        .problem(403, "FORBIDDEN");

    assert_eq!(app.snapshot().await, before, "a refused request wrote something");
    app.stop().await;
}

/// Each shard's `(available, reserved)`, in shard order.
async fn shard_counts(app: &TestApp, id: &str) -> Vec<(i64, i64)> {
    let mut shards = app.stock_shards(id).await;
    shards.sort_by_key(|s| number(s, "shard"));
    shards
        .iter()
        .map(|s| (number(s, "available"), number(s, "reserved")))
        .collect()
}

async fn set_stock_and_shards(app: &TestApp, id: &str, on_hand: i64, shards: u8) -> crate::helpers::Reply {
    let body = serde_json::json!({ "onHand": on_hand, "shards": shards }).to_string();
    app.put(&format!("/admin/products/{id}/stock"), Some(&app.admin()), &body)
        .await
}

#[tokio::test]
async fn a_hot_product_is_split_over_shards_and_shows_their_sum() {
    let app = TestApp::spawn().await;
    product_with_stock(&app, "HOT", 10).await;

    let reply = set_stock_and_shards(&app, "HOT", 102, 4).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["shards"], 4);
    assert_eq!(reply.body["available"], 102);
    assert_eq!(shard_counts(&app, "HOT").await, [(26, 0), (26, 0), (25, 0), (25, 0)]);
    assert_eq!(app.get("/products/HOT").await.body["available"], 102);
    // Setting the stock again keeps the shard count.
    let again = app.set_stock("HOT", 8).await;
    assert_eq!(again.body["shards"], 4);
    assert_eq!(shard_counts(&app, "HOT").await, [(2, 0), (2, 0), (2, 0), (2, 0)]);
    app.assert_stock_invariant("HOT").await;
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_larger_than_any_shard_spans_shards_and_returns_where_it_came_from() {
    let app = TestApp::spawn().await;
    product_with_stock(&app, "HOT", 1).await;
    assert_eq!(set_stock_and_shards(&app, "HOT", 8, 4).await.status, 200);
    let alice = app.stack.token("alice", false);

    let added = app.add_to_cart(&alice, "HOT", 5).await;

    assert_eq!(added.status, 201, "{}", added.body);
    let held: i64 = shard_counts(&app, "HOT").await.iter().map(|(_, r)| r).sum();
    assert_eq!(held, 5);
    assert!(shard_counts(&app, "HOT").await.iter().filter(|(_, r)| *r > 0).count() >= 3);
    app.assert_stock_invariant("HOT").await;

    let removed = app
        .send(reqwest::Method::DELETE, "/cart/items/HOT", Some(&alice), None)
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(shard_counts(&app, "HOT").await, [(2, 0), (2, 0), (2, 0), (2, 0)]);
    app.stop().await;
}

#[tokio::test]
async fn fewer_shards_keep_the_ones_backing_cart_lines_until_they_are_released() {
    let app = TestApp::spawn().await;
    product_with_stock(&app, "HOT", 1).await;
    assert_eq!(set_stock_and_shards(&app, "HOT", 4, 4).await.status, 200);
    // Four shoppers, one unit each: every shard ends up backing a cart line.
    let shoppers: Vec<String> = (0..4).map(|i| app.stack.token(&format!("s{i}"), false)).collect();
    for token in &shoppers {
        assert_eq!(app.add_to_cart(token, "HOT", 1).await.status, 201);
    }
    assert_eq!(shard_counts(&app, "HOT").await, [(0, 1), (0, 1), (0, 1), (0, 1)]);

    let shrunk = set_stock_and_shards(&app, "HOT", 10, 1).await;

    assert_eq!(shrunk.status, 200, "{}", shrunk.body);
    assert_eq!(shrunk.body["shards"], 1);
    assert_eq!(shrunk.body["drainingShards"], 3);
    assert_eq!(shrunk.body["available"], 6);
    assert_eq!(shard_counts(&app, "HOT").await, [(6, 1), (0, 1), (0, 1), (0, 1)]);
    app.assert_stock_invariant("HOT").await;

    // The draining shards get their units back when the lines go ...
    for token in &shoppers {
        let removed = app
            .send(reqwest::Method::DELETE, "/cart/items/HOT", Some(token), None)
            .await;
        assert_eq!(removed.status, 204);
    }
    assert_eq!(app.get("/products/HOT").await.body["available"], 10);
    assert_eq!(shard_counts(&app, "HOT").await, [(7, 0), (1, 0), (1, 0), (1, 0)]);
    // ... and the next stock update removes them.
    let tidy = app.set_stock("HOT", 10).await;
    assert_eq!(tidy.body["drainingShards"], 0);
    assert_eq!(shard_counts(&app, "HOT").await, [(10, 0)]);
    app.assert_stock_invariant("HOT").await;
    app.stop().await;
}
