use crate::helpers::TestApp;
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
        serde_json::json!({ "productId": "S-1", "onHand": 0, "available": 0, "reserved": 0, "sold": 0, "inStock": false })
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
