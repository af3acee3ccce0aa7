use crate::helpers::TestApp;
use reqwest::Method;

#[tokio::test]
async fn product_detail_returns_the_product_with_what_can_be_bought_now() {
    let app = TestApp::seeded(50).await;
    let (expected, on_hand) = devstack::seed::product(7);

    let reply = app.get("/products/P0000007").await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type(), "application/json");
    let body = &reply.body;
    assert_eq!(body["productId"], "P0000007");
    assert_eq!(body["title"], expected.title);
    assert_eq!(body["categoryId"], expected.category_id.as_str());
    assert_eq!(
        body["price"],
        serde_json::json!({ "amount": expected.price.amount, "currency": "USD" })
    );
    assert_eq!(body["available"], on_hand);
    assert_eq!(body["inStock"], on_hand > 0);
    assert!(body["createdAt"].as_str().unwrap().ends_with('Z'));
    app.stop().await;
}

#[tokio::test]
async fn product_detail_of_an_unknown_product_is_a_404_problem() {
    let app = TestApp::seeded(5).await;
    let reply = app.get("/products/P9999999").await;
    assert!(
        reply.problem(404, "NOT_FOUND")["detail"]
            .as_str()
            .unwrap()
            .contains("P9999999")
    );
    app.stop().await;
}

#[tokio::test]
async fn product_detail_with_a_malformed_id_is_a_400_naming_the_parameter() {
    let app = TestApp::seeded(5).await;
    for bad in ["P%23123", "has%20space", &"x".repeat(65)] {
        let reply = app.get(&format!("/products/{bad}")).await;
        reply.problem(400, "VALIDATION_FAILED");
        assert_eq!(reply.fields(), ["productId"], "for {bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_query_parameter_is_a_400_on_every_route_and_changes_nothing() {
    let app = TestApp::seeded(5).await;
    let (shopper, admin) = (app.shopper(), app.admin());
    let add = r#"{"productId":"P0000001","quantity":1}"#;
    let cases = [
        (Method::GET, "/products/P0000001?color=red", None, None),
        (Method::POST, "/cart/items?color=red", Some(&shopper), Some(add)),
        (
            Method::PATCH,
            "/cart/items/P0000001?color=red",
            Some(&shopper),
            Some(r#"{"quantity":2}"#),
        ),
        (Method::DELETE, "/cart/items/P0000001?color=red", Some(&shopper), None),
        (
            Method::PUT,
            "/admin/products/P0000001/stock?color=red",
            Some(&admin),
            Some(r#"{"onHand":1}"#),
        ),
    ];
    for (method, path, token, body) in cases {
        let reply = app.send(method.clone(), path, token.map(String::as_str), body).await;
        reply.problem(400, "VALIDATION_FAILED");
        assert_eq!(reply.fields(), ["color"], "{method} {path}");
    }
    let cart = app.send(Method::GET, "/cart", Some(&shopper), None).await;
    assert_eq!(
        cart.body["items"].as_array().map(Vec::len),
        Some(0),
        "nothing was added"
    );
    let product = app.get("/products/P0000001").await;
    assert_eq!(
        product.body["available"],
        devstack::seed::product(1).1,
        "stock unchanged"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_correlation_id_echoed_or_new() {
    let app = TestApp::seeded(5).await;
    let echoed = app
        .http
        .get(app.url("/products/P0000001"))
        .header("x-correlation-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-correlation-id"], "trace-abc-123");

    let fresh = app.get("/products/P0000001").await;
    let id = fresh.headers["x-correlation-id"].to_str().unwrap();
    assert_eq!(id.len(), 26, "a ULID, got {id}");

    let problem = app.get("/products/P9999999").await;
    assert!(problem.headers.contains_key("x-correlation-id"));

    // The gateway's own refusals carry it too.
    for (method, path) in [
        (reqwest::Method::PUT, "/admin/products/P0000001"),
        (reqwest::Method::GET, "/nowhere"),
    ] {
        let refused = app
            .http
            .request(method, app.url(path))
            .header("x-correlation-id", "trace-xyz")
            .send()
            .await
            .unwrap();
        assert!(refused.status().is_client_error());
        assert_eq!(refused.headers()["x-correlation-id"], "trace-xyz");
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_are_a_404_problem() {
    let app = TestApp::seeded(0).await;
    app.get("/no/such/route").await.problem(404, "NOT_FOUND");
    app.send(reqwest::Method::DELETE, "/products/P0000001", None, None)
        .await
        .problem(404, "NOT_FOUND");
    app.stop().await;
}
