use crate::helpers::{TestApp, product_body};
use serde_json::json;

#[tokio::test]
async fn an_admin_creates_a_product_that_then_shows_everywhere() {
    let app = TestApp::spawn().await;
    let token = app.admin();

    let created = app
        .put(
            "/admin/products/NEW-1",
            Some(&token),
            &product_body("Acme Studio Headphones", "electronics-headphones", 12999),
        )
        .await;

    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["productId"], "NEW-1");
    assert_eq!(created.body["available"], 0);
    assert_eq!(created.body["inStock"], false);
    let detail = app.get("/products/NEW-1").await;
    assert_eq!(detail.body["title"], "Acme Studio Headphones");
    assert_eq!(detail.body["price"]["amount"], 12999);
    let listing = app.get("/categories/electronics-headphones/products").await;
    assert_eq!(listing.body["products"][0]["productId"], "NEW-1");
    assert_eq!(
        app.category_count("electronics", Some("electronics-headphones")).await,
        1
    );
    app.assert_stock_invariant("NEW-1").await;
    app.stop().await;
}

#[tokio::test]
async fn updating_a_product_keeps_its_stock_and_moves_it_between_categories() {
    let app = TestApp::spawn().await;
    let token = app.admin();
    app.create_product("NEW-2", "Lamp", "home-kitchen-lighting", 2500).await;
    app.set_stock("NEW-2", 7).await;

    let updated = app
        .put(
            "/admin/products/NEW-2",
            Some(&token),
            &product_body("Reading Lamp", "office-furniture", 3500),
        )
        .await;

    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["title"], "Reading Lamp");
    assert_eq!(updated.body["available"], 7);
    assert_eq!(
        app.category_count("home-kitchen", Some("home-kitchen-lighting")).await,
        0
    );
    assert_eq!(app.category_count("office", Some("office-furniture")).await, 1);
    let old_listing = app.get("/categories/home-kitchen-lighting/products").await;
    assert_eq!(old_listing.body["products"], json!([]));
    let new_listing = app.get("/categories/office-furniture/products?sort=price_desc").await;
    assert_eq!(new_listing.body["products"][0]["price"]["amount"], 3500);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_updates_of_one_product_all_land_and_count_it_once() {
    let app = TestApp::spawn().await;
    let token = app.admin();
    app.create_product("HOT-1", "Hot", "toys-games-board-games", 1000).await;

    let categories = [
        "toys-games-board-games",
        "toys-games-building-sets",
        "toys-games-outdoor-play",
    ];
    let updates = (0..24).map(|i| {
        let body = product_body(&format!("Hot v{i}"), categories[i % 3], 1000 + i as i64);
        let (app, token) = (&app, &token);
        async move { app.put("/admin/products/HOT-1", Some(token), &body).await.status }
    });
    let statuses = futures::future::join_all(updates).await;

    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let total = app.category_count("toys-games", None).await;
    assert_eq!(total, 1, "the product must be counted in exactly one category");
    let detail = app.get("/products/HOT-1").await;
    let category = detail.body["categoryId"].as_str().unwrap().to_owned();
    let listing = app.get(&format!("/categories/{category}/products")).await;
    assert_eq!(listing.body["products"][0]["productId"], "HOT-1");
    app.stop().await;
}

#[tokio::test]
async fn admin_product_routes_need_a_token_and_the_admin_group() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;
    let body = product_body("X", "books-fiction", 999);

    app.put("/admin/products/NEW-3", None, &body)
        .await
        .problem(401, "UNAUTHORIZED");
    app.put("/admin/products/NEW-3", Some("not-a-jwt"), &body)
        .await
        .problem(401, "UNAUTHORIZED");
    let forged = devstack::token::mint(
        "another-secret",
        "admin-1",
        &["admin"],
        std::time::Duration::from_secs(60),
    );
    app.put("/admin/products/NEW-3", Some(&forged), &body)
        .await
        .problem(401, "UNAUTHORIZED");
    app.put("/admin/products/NEW-3", Some(&app.shopper()), &body)
        .await
        .problem(403, "FORBIDDEN");

    assert_eq!(app.snapshot().await, before, "a refused request wrote something");
    app.stop().await;
}

#[tokio::test]
async fn bad_product_bodies_are_refused_with_the_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let token = app.admin();
    let before = app.snapshot().await;
    let valid = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&product_body("Good", "books-fiction", 999)).unwrap();
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(String, u16, &str, Vec<&str>)> = vec![
        ("{not json".into(), 400, "MALFORMED_JSON", vec![]),
        ("".into(), 400, "MALFORMED_JSON", vec![]),
        ("[1,2]".into(), 400, "VALIDATION_FAILED", vec!["body"]),
        (
            valid(&|v| v["price"]["amount"] = json!("12.99")),
            400,
            "VALIDATION_FAILED",
            vec!["price.amount"],
        ),
        (
            valid(&|v| v["price"]["amount"] = json!(12.5)),
            400,
            "VALIDATION_FAILED",
            vec!["price.amount"],
        ),
        (
            valid(&|v| v["price"]["amount"] = json!(-100)),
            400,
            "VALIDATION_FAILED",
            vec!["price.amount"],
        ),
        (
            valid(&|v| v["price"]["amount"] = json!(1e30)),
            400,
            "VALIDATION_FAILED",
            vec!["price.amount"],
        ),
        (
            valid(&|v| v["price"]["currency"] = json!("EUR")),
            400,
            "VALIDATION_FAILED",
            vec!["price.currency"],
        ),
        (
            valid(&|v| v["title"] = json!("   ")),
            400,
            "VALIDATION_FAILED",
            vec!["title"],
        ),
        (
            valid(&|v| v["title"] = json!("t".repeat(201))),
            400,
            "VALIDATION_FAILED",
            vec!["title"],
        ),
        (
            valid(&|v| v["title"] = json!(42)),
            400,
            "VALIDATION_FAILED",
            vec!["title"],
        ),
        (
            valid(&|v| drop(v.as_object_mut().unwrap().remove("brand"))),
            400,
            "VALIDATION_FAILED",
            vec!["brand"],
        ),
        (
            valid(&|v| v["rating"] = json!(5)),
            400,
            "VALIDATION_FAILED",
            vec!["rating"],
        ),
        (
            valid(&|v| v["categoryId"] = json!("electronics")),
            400,
            "VALIDATION_FAILED",
            vec!["categoryId"],
        ),
        (
            valid(&|v| v["categoryId"] = json!("no-such-leaf")),
            400,
            "VALIDATION_FAILED",
            vec!["categoryId"],
        ),
        (
            valid(&|v| v["description"] = json!("x".repeat(70_000))),
            413,
            "PAYLOAD_TOO_LARGE",
            vec![],
        ),
    ];
    for (body, status, code, fields) in cases {
        let reply = app.put("/admin/products/NEW-4", Some(&token), &body).await;
        reply.problem(status, code);
        if !fields.is_empty() {
            let got = reply.fields();
            assert!(
                fields.iter().all(|f| got.iter().any(|g| g == f)),
                "{body:.80}: fields {got:?}, wanted {fields:?}"
            );
        }
    }
    let wrong_type = app
        .http
        .put(app.url("/admin/products/NEW-4"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(product_body("Good", "books-fiction", 999))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    let bad_id = app
        .put(
            "/admin/products/bad%23id",
            Some(&token),
            &product_body("Good", "books-fiction", 999),
        )
        .await;
    bad_id.problem(400, "VALIDATION_FAILED");
    assert_eq!(bad_id.fields(), ["productId"]);

    assert_eq!(app.snapshot().await, before, "a refused request wrote something");
    app.stop().await;
}
