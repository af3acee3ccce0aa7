use crate::helpers::{TestApp, number};
use devstack::StackOptions;
use serde_json::json;
use shop_domain::time::Timestamp;
use shop_store::{DynamoStore, MAX_ATTEMPTS};

/// Runs the reservation sweeper as if the time were `now`.
async fn sweep_at(app: &TestApp, now: Timestamp) -> usize {
    let store = DynamoStore::new(app.stack.dynamodb.clone(), app.stack.table());
    let sweep = sweep_reservations::sweep(&store, now).await;
    assert_eq!(sweep.failed, 0, "the sweeper failed on some lines");
    sweep.released
}

/// Runs the reservation sweeper at the stack's time (as its timer does).
async fn sweep(app: &TestApp) -> usize {
    sweep_at(app, app.stack.clock.now()).await
}

fn minutes_from_now(app: &TestApp, minutes: i64) -> Timestamp {
    app.stack.clock.now() + time::Duration::minutes(minutes)
}

/// A shop with one product, `FLASH`, holding `on_hand` units.
async fn shop_with(on_hand: i64) -> TestApp {
    let app = TestApp::spawn().await;
    app.create_product("FLASH", "Flash Sale Headphones", "electronics-headphones", 4999)
        .await;
    assert_eq!(app.set_stock("FLASH", on_hand).await.status, 200);
    app
}

#[tokio::test]
async fn adding_to_the_cart_reserves_stock_for_thirty_minutes() {
    let app = shop_with(10).await;
    let alice = app.stack.token("alice", false);

    let added = app.add_to_cart(&alice, "FLASH", 3).await;

    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["productId"], "FLASH");
    assert_eq!(added.body["quantity"], 3);
    assert_eq!(added.body["unitPrice"], json!({ "amount": 4999, "currency": "USD" }));
    assert_eq!(added.body["reserved"], true);
    let until = shop_domain::time::parse(added.body["reservedUntil"].as_str().unwrap()).unwrap();
    let minutes = (until - app.stack.clock.now()).whole_minutes();
    assert!((29..=30).contains(&minutes), "reserved for {minutes} minutes");

    assert_eq!(app.get("/products/FLASH").await.body["available"], 7);
    let cart = app.send(reqwest::Method::GET, "/cart", Some(&alice), None).await;
    assert_eq!(cart.status, 200);
    assert_eq!(cart.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(cart.body["items"][0]["title"], "Flash Sale Headphones");
    assert_eq!(cart.body["subtotal"], json!({ "amount": 3 * 4999, "currency": "USD" }));
    assert_eq!(cart.body["itemCount"], 3);
    app.assert_stock_invariant("FLASH").await;
    app.stop().await;
}

#[tokio::test]
async fn adding_again_adds_to_the_line_up_to_the_line_limit() {
    let app = shop_with(50).await;
    let alice = app.stack.token("alice", false);
    assert_eq!(app.add_to_cart(&alice, "FLASH", 4).await.status, 201);
    let again = app.add_to_cart(&alice, "FLASH", 6).await;
    assert_eq!(again.body["quantity"], 10);

    let before = app.snapshot().await;
    let over = app.add_to_cart(&alice, "FLASH", 1).await;
    let problem = over.problem(409, "LINE_QUANTITY_LIMIT");
    assert_eq!(problem["maxPerLine"], 10);
    assert_eq!(problem["inCart"], 10);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.get("/products/FLASH").await.body["available"], 40);
    app.assert_stock_invariant("FLASH").await;
    app.stop().await;
}

#[tokio::test]
async fn asking_for_more_than_is_available_is_refused_with_the_count_and_changes_nothing() {
    let app = shop_with(2).await;
    let alice = app.stack.token("alice", false);
    let before = app.snapshot().await;

    let refused = app.add_to_cart(&alice, "FLASH", 3).await;

    let problem = refused.problem(409, "INSUFFICIENT_INVENTORY");
    assert_eq!(problem["available"], 2);
    assert_eq!(problem["requested"], 3);
    assert_eq!(app.snapshot().await, before);
    app.stop().await;
}

#[tokio::test]
async fn a_cart_holds_a_bounded_number_of_lines() {
    let app = TestApp::seeded(80).await;
    let alice = app.stack.token("alice", false);
    let in_stock: Vec<String> = (1..=80)
        .map(devstack::seed::product)
        .filter(|(_, on_hand)| *on_hand > 0)
        .map(|(p, _)| p.id.to_string())
        .collect();
    for id in &in_stock[..shop_domain::cart::MAX_LINES_PER_CART] {
        assert_eq!(app.add_to_cart(&alice, id, 1).await.status, 201);
    }
    let before = app.snapshot().await;
    let full = app
        .add_to_cart(&alice, &in_stock[shop_domain::cart::MAX_LINES_PER_CART], 1)
        .await;
    assert_eq!(
        full.problem(409, "CART_FULL")["maxLines"],
        shop_domain::cart::MAX_LINES_PER_CART
    );
    assert_eq!(app.snapshot().await, before);
    // Adding to a line already in the cart still works.
    assert_eq!(app.add_to_cart(&alice, &in_stock[0], 1).await.status, 201);
    app.stop().await;
}

#[tokio::test]
async fn a_shopper_never_sees_another_shoppers_cart() {
    let app = shop_with(10).await;
    let alice = app.stack.token("alice", false);
    let bob = app.stack.token("bob", false);
    assert_eq!(app.add_to_cart(&alice, "FLASH", 2).await.status, 201);

    let bobs = app.send(reqwest::Method::GET, "/cart", Some(&bob), None).await;
    assert_eq!(bobs.status, 200);
    assert_eq!(bobs.body["items"], json!([]));
    assert_eq!(bobs.body["itemCount"], 0);
    app.stop().await;
}

#[tokio::test]
async fn bad_cart_requests_are_refused_and_change_nothing() {
    let app = shop_with(10).await;
    let alice = app.stack.token("alice", false);
    let before = app.snapshot().await;

    for (body, field) in [
        (json!({ "productId": "FLASH", "quantity": 0 }), "quantity"),
        (json!({ "productId": "FLASH", "quantity": -1 }), "quantity"),
        (json!({ "productId": "FLASH", "quantity": 1.5 }), "quantity"),
        (json!({ "productId": "FLASH", "quantity": "2" }), "quantity"),
        (
            json!({ "productId": "FLASH", "quantity": 1_000_000_000_000i64 }),
            "quantity",
        ),
        (json!({ "productId": "FLASH" }), "quantity"),
        (json!({ "productId": "bad#id", "quantity": 1 }), "productId"),
        (
            json!({ "productId": "FLASH", "quantity": 1, "userId": "bob" }),
            "userId",
        ),
    ] {
        let reply = app.post("/cart/items", Some(&alice), &body.to_string()).await;
        reply.problem(400, "VALIDATION_FAILED");
        assert!(
            reply.fields().contains(&field.to_owned()),
            "{body}: {:?}",
            reply.fields()
        );
    }
    app.post("/cart/items", Some(&alice), "{nope")
        .await
        .problem(400, "MALFORMED_JSON");
    app.add_to_cart(&alice, "NO-SUCH-PRODUCT", 1)
        .await
        .problem(404, "NOT_FOUND");
    app.post("/cart/items", None, r#"{"productId":"FLASH","quantity":1}"#)
        .await
        .problem(401, "UNAUTHORIZED");
    app.send(reqwest::Method::GET, "/cart", None, None)
        .await
        .problem(401, "UNAUTHORIZED");
    let huge = json!({ "productId": "FLASH", "quantity": 1, "pad": "x".repeat(70_000) }).to_string();
    app.post("/cart/items", Some(&alice), &huge)
        .await
        .problem(413, "PAYLOAD_TOO_LARGE");

    assert_eq!(app.snapshot().await, before, "a refused request wrote something");
    app.stop().await;
}

/// The flash sale: many shoppers at once for a product with few units.
/// A flash sale: `shoppers` distinct shoppers all at once add `quantity(i)`
/// units of one product holding `stock` units over `shards` stock items,
/// with `conflicts` of the transactions cancelled as DynamoDB does when
/// transactions collide.
struct Sale {
    shoppers: usize,
    stock: i64,
    shards: u8,
    conflicts: f64,
    random_quantities: bool,
}

impl Sale {
    const FLASH: Sale = Sale {
        shoppers: 1000,
        stock: 100,
        shards: 1,
        conflicts: 0.0,
        random_quantities: false,
    };

    /// 1 to 3 units, the same for a given shopper on every run.
    fn quantity(&self, shopper: usize) -> i64 {
        if self.random_quantities {
            1 + (shopper * 7 % 3) as i64
        } else {
            1
        }
    }

    async fn run(self) {
        let app = TestApp::spawn_with(StackOptions {
            seed_products: Some(0),
            transaction_conflicts: self.conflicts,
            ..StackOptions::for_tests()
        })
        .await;
        app.create_product("FLASH", "Flash Sale Headphones", "electronics-headphones", 4999)
            .await;
        let body = json!({ "onHand": self.stock, "shards": self.shards }).to_string();
        let set = app.put("/admin/products/FLASH/stock", Some(&app.admin()), &body).await;
        assert_eq!(set.status, 200, "{}", set.body);
        assert_eq!(app.stock_shards("FLASH").await.len(), usize::from(self.shards));

        let tokens: Vec<String> = (0..self.shoppers)
            .map(|i| app.stack.token(&format!("shopper-{i}"), false))
            .collect();
        let requests = tokens.iter().enumerate().map(|(i, token)| {
            let (app, units) = (&app, self.quantity(i));
            async move { (units, app.add_to_cart(token, "FLASH", units).await) }
        });
        let replies = futures::future::join_all(requests).await;

        let mut reserved = 0;
        for (units, reply) in &replies {
            match reply.status.as_u16() {
                201 => reserved += units,
                409 => assert_eq!(reply.body["code"], "INSUFFICIENT_INVENTORY"),
                // Losing every one of the bounded retries is possible only
                // when conflicts are injected.
                503 if self.conflicts > 0.0 => assert!(reply.headers.contains_key("retry-after")),
                other => panic!("unexpected {other}: {}", reply.body),
            }
        }
        app.assert_stock_invariant("FLASH").await;
        let detail = app.get("/products/FLASH").await;
        assert!(reserved <= self.stock, "oversold: {reserved} of {}", self.stock);
        assert_eq!(
            detail.body["available"],
            self.stock - reserved,
            "the shards hold exactly what the shoppers were told they got"
        );
        if !self.random_quantities {
            assert_eq!(reserved, self.stock, "every unit sells");
        }
        // Every refusal happened only because too few were left for it.
        let smallest_refused = replies.iter().filter(|(_, r)| r.status == 409).map(|(u, _)| *u).min();
        if let Some(units) = smallest_refused {
            assert!(
                self.stock - reserved < units,
                "refused {units} while {} were left",
                self.stock - reserved
            );
        }
        if self.conflicts > 0.0 {
            assert!(app.stack.faults.conflicts() > 0, "no conflict was injected");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn a_flash_sale_of_100_units_to_1000_shoppers_sells_exactly_100() {
    Sale::FLASH.run().await;
}

#[tokio::test]
async fn a_flash_sale_over_4_shards_sells_exactly_100() {
    Sale {
        shards: 4,
        ..Sale::FLASH
    }
    .run()
    .await;
}

#[tokio::test]
async fn a_flash_sale_with_random_quantities_never_oversells() {
    Sale {
        shoppers: 500,
        random_quantities: true,
        ..Sale::FLASH
    }
    .run()
    .await;
}

#[tokio::test]
async fn a_flash_sale_with_random_quantities_over_4_shards_never_oversells() {
    Sale {
        shoppers: 500,
        shards: 4,
        random_quantities: true,
        ..Sale::FLASH
    }
    .run()
    .await;
}

#[tokio::test]
async fn a_flash_sale_where_a_fifth_of_the_transactions_conflict_still_sells_exactly_100() {
    Sale {
        shards: 4,
        conflicts: 0.2,
        ..Sale::FLASH
    }
    .run()
    .await;
}

#[tokio::test]
async fn a_cart_change_that_keeps_conflicting_gives_up_after_a_bounded_number_of_tries() {
    // Seeding writes straight to the table, so the catalog is there even
    // though every transaction through the functions conflicts.
    let app = TestApp::spawn_with(StackOptions {
        seed_products: Some(10),
        transaction_conflicts: 1.0,
        ..StackOptions::for_tests()
    })
    .await;
    let (product, _) = (1..=10)
        .map(devstack::seed::product)
        .find(|(_, on_hand)| *on_hand > 0)
        .expect("a seeded product in stock");
    let before = app.snapshot().await;

    let started = std::time::Instant::now();
    let reply = app.add_to_cart(&app.shopper(), product.id.as_str(), 1).await;

    let problem = reply.problem(503, "SERVICE_UNAVAILABLE");
    assert!(reply.headers.contains_key("retry-after"));
    assert!(problem["detail"].as_str().unwrap().contains("concurrent"));
    assert_eq!(
        app.stack.faults.transactions(),
        u64::from(MAX_ATTEMPTS),
        "one transaction per attempt, and no more attempts than the bound"
    );
    // Eleven jittered pauses of at most 5, 10, ... 320 ms: 1.9 s at most.
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert_eq!(app.snapshot().await, before, "nothing changed");
    app.stop().await;
}

#[tokio::test]
async fn changing_the_quantity_reserves_or_releases_only_the_difference() {
    let app = shop_with(6).await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "FLASH", 2).await;

    let up = app
        .send(
            reqwest::Method::PATCH,
            "/cart/items/FLASH",
            Some(&alice),
            Some(r#"{"quantity": 5}"#),
        )
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(up.body["quantity"], 5);
    assert_eq!(app.get("/products/FLASH").await.body["available"], 1);

    let down = app
        .send(
            reqwest::Method::PATCH,
            "/cart/items/FLASH",
            Some(&alice),
            Some(r#"{"quantity": 1}"#),
        )
        .await;
    assert_eq!(down.body["quantity"], 1);
    assert_eq!(app.get("/products/FLASH").await.body["available"], 5);

    let before = app.snapshot().await;
    let too_many = app
        .send(
            reqwest::Method::PATCH,
            "/cart/items/FLASH",
            Some(&alice),
            Some(r#"{"quantity": 10}"#),
        )
        .await;
    assert_eq!(too_many.problem(409, "INSUFFICIENT_INVENTORY")["available"], 5);
    assert_eq!(app.snapshot().await, before);
    app.assert_stock_invariant("FLASH").await;
    app.stop().await;
}

#[tokio::test]
async fn removing_a_line_releases_its_stock() {
    let app = shop_with(10).await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "FLASH", 4).await;

    let removed = app
        .send(reqwest::Method::DELETE, "/cart/items/FLASH", Some(&alice), None)
        .await;

    assert_eq!(removed.status, 204);
    assert_eq!(app.get("/products/FLASH").await.body["available"], 10);
    let cart = app.send(reqwest::Method::GET, "/cart", Some(&alice), None).await;
    assert_eq!(cart.body["items"], json!([]));
    let again = app
        .send(reqwest::Method::DELETE, "/cart/items/FLASH", Some(&alice), None)
        .await;
    again.problem(404, "NOT_FOUND");
    app.assert_stock_invariant("FLASH").await;
    app.stop().await;
}

#[tokio::test]
async fn another_shoppers_line_cannot_be_changed_or_removed() {
    let app = shop_with(10).await;
    let alice = app.stack.token("alice", false);
    let bob = app.stack.token("bob", false);
    app.add_to_cart(&alice, "FLASH", 3).await;
    let before = app.snapshot().await;

    app.send(
        reqwest::Method::PATCH,
        "/cart/items/FLASH",
        Some(&bob),
        Some(r#"{"quantity": 1}"#),
    )
    .await
    .problem(404, "NOT_FOUND");
    app.send(reqwest::Method::DELETE, "/cart/items/FLASH", Some(&bob), None)
        .await
        .problem(404, "NOT_FOUND");
    for body in [
        r#"{"quantity": 0}"#,
        r#"{"quantity": 11}"#,
        r#"{"quantity": -3}"#,
        r#"{"quantity": 2.5}"#,
        r#"{}"#,
    ] {
        app.send(reqwest::Method::PATCH, "/cart/items/FLASH", Some(&alice), Some(body))
            .await
            .problem(400, "VALIDATION_FAILED");
    }
    app.send(
        reqwest::Method::PATCH,
        "/cart/items/FLASH",
        None,
        Some(r#"{"quantity": 1}"#),
    )
    .await
    .problem(401, "UNAUTHORIZED");
    assert_eq!(app.snapshot().await, before, "a refused request wrote something");
    app.stop().await;
}

#[tokio::test]
async fn concurrent_adds_changes_and_removals_on_one_cart_keep_the_books_balanced() {
    let app = shop_with(60).await;
    let alice = app.stack.token("alice", false);
    let operations = (0..90).map(|i| {
        let (app, alice) = (&app, &alice);
        async move {
            let reply = match i % 3 {
                0 => app.add_to_cart(alice, "FLASH", 1 + (i % 4) as i64).await,
                1 => {
                    let body = format!(r#"{{"quantity": {}}}"#, 1 + i % 10);
                    app.send(reqwest::Method::PATCH, "/cart/items/FLASH", Some(alice), Some(&body))
                        .await
                }
                _ => {
                    app.send(reqwest::Method::DELETE, "/cart/items/FLASH", Some(alice), None)
                        .await
                }
            };
            assert!(
                [200, 201, 204, 404, 409].contains(&reply.status.as_u16()),
                "unexpected {}: {}",
                reply.status,
                reply.body
            );
        }
    });
    // The sweeper runs through the storm, as if every line had expired.
    let sweeps = (0..10).map(|_| sweep_at(&app, minutes_from_now(&app, 31)));
    futures::future::join(futures::future::join_all(operations), futures::future::join_all(sweeps)).await;

    app.assert_stock_invariant("FLASH").await;
    let cart = app.send(reqwest::Method::GET, "/cart", Some(&alice), None).await;
    let in_cart = cart.body["items"]
        .as_array()
        .unwrap()
        .first()
        .map_or(0, |l| l["quantity"].as_i64().unwrap());
    let shards = app.stock_shards("FLASH").await;
    let reserved: i64 = shards.iter().map(|s| number(s, "reserved")).sum();
    assert_eq!(
        reserved, in_cart,
        "what the shards hold reserved is exactly what the cart holds"
    );
    assert_eq!(app.get("/products/FLASH").await.body["available"], 60 - in_cart);
    app.stop().await;
}

#[tokio::test]
async fn the_sweeper_releases_only_expired_reservations_and_the_stock_sells_again() {
    let app = shop_with(5).await;
    let alice = app.stack.token("alice", false);
    let bob = app.stack.token("bob", false);
    assert_eq!(app.add_to_cart(&alice, "FLASH", 3).await.status, 201);

    assert_eq!(sweep(&app).await, 0, "nothing has expired yet");
    app.stack.clock.advance(time::Duration::minutes(29));
    assert_eq!(sweep(&app).await, 0, "still within 30 minutes");
    app.add_to_cart(&bob, "FLASH", 3)
        .await
        .problem(409, "INSUFFICIENT_INVENTORY");

    app.stack.clock.advance(time::Duration::minutes(2));
    // Before the sweeper gets to it, a cart read already shows the line as
    // no longer reserved, and leaves it out of the subtotal.
    let cart = app.send(reqwest::Method::GET, "/cart", Some(&alice), None).await;
    assert_eq!(cart.body["items"][0]["reserved"], false);
    assert_eq!(cart.body["subtotal"]["amount"], 0);
    assert_eq!(cart.body["itemCount"], 0);

    assert_eq!(sweep(&app).await, 1);

    app.assert_stock_invariant("FLASH").await;
    assert_eq!(app.get("/products/FLASH").await.body["available"], 5);
    let cart = app.send(reqwest::Method::GET, "/cart", Some(&alice), None).await;
    assert_eq!(cart.body["items"], json!([]));
    assert_eq!(
        app.add_to_cart(&bob, "FLASH", 5).await.status,
        201,
        "the released units sell again"
    );
    app.stack.clock.advance(time::Duration::minutes(31));
    assert_eq!(sweep(&app).await, 1, "bob's line expires in turn");
    assert_eq!(sweep(&app).await, 0, "a line is released once");
    app.assert_stock_invariant("FLASH").await;
    app.stop().await;
}

#[tokio::test]
async fn renewing_a_line_keeps_it_from_the_sweeper() {
    let app = shop_with(5).await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "FLASH", 2).await;
    let first =
        app.send(reqwest::Method::GET, "/cart", Some(&alice), None).await.body["items"][0]["reservedUntil"].clone();
    app.stack.clock.advance(time::Duration::minutes(10));
    app.send(
        reqwest::Method::PATCH,
        "/cart/items/FLASH",
        Some(&alice),
        Some(r#"{"quantity": 2}"#),
    )
    .await;
    let renewed =
        app.send(reqwest::Method::GET, "/cart", Some(&alice), None).await.body["items"][0]["reservedUntil"].clone();
    assert!(
        renewed.as_str().unwrap() > first.as_str().unwrap(),
        "a change renews the reservation"
    );

    // After the first deadline but before the renewed one: kept.
    let between = shop_domain::time::parse(first.as_str().unwrap()).unwrap() + time::Duration::minutes(5);
    assert_eq!(sweep_at(&app, between).await, 0);
    assert_eq!(app.get("/products/FLASH").await.body["available"], 3);
    app.stop().await;
}

/// Issue 11, finding 5: one line the sweeper cannot release (here, an item
/// it cannot read) must not keep it from releasing the others.
#[tokio::test]
async fn the_sweeper_goes_on_past_a_line_it_cannot_release() {
    let app = shop_with(5).await;
    let alice = app.stack.token("alice", false);
    assert_eq!(app.add_to_cart(&alice, "FLASH", 2).await.status, 201);
    // A line listed as expired but unreadable, sorting before alice's.
    let bucket = shop_store::keys::reservation_bucket_name(0);
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
    app.stack
        .dynamodb
        .put_item()
        .table_name(app.stack.table())
        .item("pk", s("CART#mallory"))
        .item("sk", s("LINE#FLASH"))
        .item("userId", s("mallory"))
        .item("gsi1pk", s(&bucket))
        .item("gsi1sk", s("2000-01-01T00:00:00.000Z#mallory#FLASH"))
        .send()
        .await
        .unwrap();

    let store = DynamoStore::new(app.stack.dynamodb.clone(), app.stack.table());
    let swept = sweep_reservations::sweep(&store, minutes_from_now(&app, 31)).await;

    assert_eq!((swept.released, swept.failed), (1, 1));
    assert_eq!(app.get("/products/FLASH").await.body["available"], 5);
    app.stop().await;
}

#[tokio::test]
async fn a_cart_line_has_no_ttl_so_only_a_release_removes_its_units() {
    let app = shop_with(5).await;
    let alice = app.stack.token("alice", false);
    app.add_to_cart(&alice, "FLASH", 2).await;
    let lines: Vec<_> = app
        .snapshot()
        .await
        .into_iter()
        .filter(
            |i| matches!(i.get("sk"), Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) if sk.starts_with("LINE#")),
        )
        .collect();
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].contains_key("expiresAt"), "{:?}", lines[0]);
    app.stop().await;
}

/// Issue 11, finding 6: renewing every 29 minutes, or removing the line and
/// adding it again, holds a product for at most an hour; then the units are
/// on sale to everyone else, and the same shopper waits out a cooldown.
#[tokio::test]
async fn a_shopper_who_keeps_renewing_loses_the_hold_at_the_cap_and_the_units_sell_again() {
    let app = shop_with(5).await;
    let alice = app.stack.token("alice", false);
    let bob = app.stack.token("bob", false);
    let renew = async |quantity: i64| {
        let body = format!(r#"{{"quantity": {quantity}}}"#);
        app.send(reqwest::Method::PATCH, "/cart/items/FLASH", Some(&alice), Some(&body))
            .await
    };
    let reserved_until = |reply: &crate::helpers::Reply| {
        shop_domain::time::parse(reply.body["reservedUntil"].as_str().unwrap()).unwrap()
    };

    let added = app.add_to_cart(&alice, "FLASH", 5).await;
    assert_eq!(added.status, 201);
    let start = reserved_until(&added) - shop_domain::cart::RESERVATION_TTL;
    app.stack.clock.advance(time::Duration::minutes(29));
    let renewed = renew(5).await;
    let renewed_until = reserved_until(&renewed) - start;
    assert!(
        renewed_until > time::Duration::minutes(59) && renewed_until < time::Duration::minutes(60),
        "a renewal gives 30 more minutes: {renewed_until}"
    );
    // Removing the line and adding it again does not restart the clock.
    app.stack.clock.advance(time::Duration::minutes(29));
    app.send(reqwest::Method::DELETE, "/cart/items/FLASH", Some(&alice), None)
        .await;
    let again = app.add_to_cart(&alice, "FLASH", 5).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(
        reserved_until(&again),
        start + shop_domain::cart::MAX_HOLD,
        "capped an hour after the first reservation"
    );

    app.stack.clock.advance(time::Duration::minutes(3));
    let refused = renew(5).await;
    assert_eq!(refused.problem(409, "HOLD_LIMIT_REACHED")["maxHoldMinutes"], 60);
    assert_eq!(sweep(&app).await, 1, "the line expired at the cap");
    app.add_to_cart(&alice, "FLASH", 1)
        .await
        .problem(409, "HOLD_LIMIT_REACHED");
    assert_eq!(
        app.add_to_cart(&bob, "FLASH", 5).await.status,
        201,
        "the units sell again"
    );

    // After the cooldown alice may hold it again (if there is any left).
    app.stack.clock.advance(shop_domain::cart::HOLD_COOLDOWN);
    app.add_to_cart(&alice, "FLASH", 1)
        .await
        .problem(409, "INSUFFICIENT_INVENTORY");
    app.assert_stock_invariant("FLASH").await;
    app.assert_ledger_adds_up().await;
    app.stop().await;
}
