//! infra/openapi.yaml is the API's contract: it lists exactly the routes of
//! template.yaml, and the running API's answers match its schemas.

use crate::helpers::{Reply, TestApp, product_body};
use reqwest::Method;
use serde_json::{Value, json};
use shop_domain::ids::ProductId;
use shop_domain::order::OrderId;
use std::collections::BTreeSet;

fn openapi() -> Value {
    let text = std::fs::read_to_string(devstack::project_root().join("infra/openapi.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// JSON pointer escaping (RFC 6901).
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Checks `reply` against the documented response of `method route`.
fn assert_matches_contract(doc: &Value, method: &str, route: &str, reply: &Reply) {
    let status = reply.status.as_u16().to_string();
    let operation = format!("/paths/{}/{}", escape(route), method.to_lowercase());
    let mut response_pointer = format!("{operation}/responses/{status}");
    let mut response = doc
        .pointer(&response_pointer)
        .unwrap_or_else(|| panic!("{method} {route}: {status} is not documented; body {}", reply.body));
    if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
        response_pointer = reference.trim_start_matches('#').to_owned();
        response = doc.pointer(&response_pointer).unwrap();
    }
    if response.get("content").is_none() {
        assert_eq!(
            reply.body,
            Value::Null,
            "{method} {route} {status}: documented without a body"
        );
        return;
    }
    let content_type = reply.content_type().to_owned();
    assert!(
        response["content"].get(&content_type).is_some(),
        "{method} {route} {status}: {content_type} is not documented"
    );
    let schema_pointer = format!("{response_pointer}/content/{}/schema", escape(&content_type));
    // The whole document is the root so that its `$ref`s resolve.
    let mut root = doc.clone();
    // A JSON pointer in a URI fragment has its braces percent-encoded.
    root["$ref"] = Value::String(format!("#{}", schema_pointer.replace('{', "%7B").replace('}', "%7D")));
    let validator = jsonschema::draft202012::new(&root).expect("the OpenAPI schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(&reply.body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {route} {status}: {errors:?}\nbody: {}",
        reply.body
    );
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_template_routes() {
    let doc = openapi();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let template = devstack::template::Template::project().unwrap();
    let served: BTreeSet<(String, String)> = template
        .functions
        .iter()
        .flat_map(|f| f.routes.iter().map(|r| (r.method.clone(), r.path.clone())))
        .collect();
    assert_eq!(documented, served);
    for function in &template.functions {
        for route in &function.routes {
            let op = &doc["paths"][&route.path][route.method.to_lowercase()];
            assert_eq!(
                op.get("security").is_some(),
                route.authorized,
                "{} {}: security must match the template",
                route.method,
                route.path
            );
        }
    }
}

/// Method, route template, concrete path, token, body, expected status.
type Case<'a> = (Method, &'a str, String, Option<&'a str>, Option<&'a str>, u16);

#[tokio::test]
async fn the_running_api_answers_as_the_openapi_document_says() {
    let doc = openapi();
    let app = TestApp::seeded(40).await;
    let admin = app.admin();
    let shopper = app.shopper();
    let product = product_body("Contract Lamp", "home-kitchen-lighting", 4599);
    let huge = json!({ "onHand": 1, "pad": "x".repeat(70_000) }).to_string();
    let add_item = json!({ "productId": "C-1", "quantity": 2 }).to_string();
    let add_too_many = json!({ "productId": "C-1", "quantity": 9 }).to_string();

    let cases: Vec<Case> = vec![
        (
            Method::GET,
            "/products/{productId}",
            "/products/P0000001".into(),
            None,
            None,
            200,
        ),
        (
            Method::GET,
            "/products/{productId}",
            "/products/P9999999".into(),
            None,
            None,
            404,
        ),
        (
            Method::GET,
            "/products/{productId}",
            "/products/bad%23id".into(),
            None,
            None,
            400,
        ),
        (
            Method::GET,
            "/products/{productId}/recommendations",
            "/products/P0000001/recommendations?limit=3".into(),
            None,
            None,
            200,
        ),
        (
            Method::GET,
            "/products/{productId}/recommendations",
            "/products/P0000001/recommendations?limit=21".into(),
            None,
            None,
            400,
        ),
        (
            Method::GET,
            "/products/{productId}/recommendations",
            "/products/P9999999/recommendations".into(),
            None,
            None,
            404,
        ),
        (
            Method::GET,
            "/products/{productId}/reviews",
            "/products/P0000001/reviews?sort=helpful&limit=5".into(),
            None,
            None,
            200,
        ),
        (
            Method::GET,
            "/products/{productId}/reviews",
            "/products/P0000001/reviews?sort=stars".into(),
            None,
            None,
            400,
        ),
        (
            Method::GET,
            "/products/{productId}/reviews",
            "/products/P9999999/reviews".into(),
            None,
            None,
            404,
        ),
        (
            Method::POST,
            "/products/{productId}/reviews",
            "/products/P0000001/reviews".into(),
            Some(&shopper),
            Some(r#"{"rating":5,"title":"Great","body":"Really."}"#),
            403,
        ),
        (
            Method::POST,
            "/products/{productId}/reviews",
            "/products/P0000001/reviews".into(),
            Some(&shopper),
            Some(r#"{"rating":9,"title":"Great","body":"Really."}"#),
            400,
        ),
        (
            Method::POST,
            "/products/{productId}/reviews/{reviewId}/helpful",
            "/products/P0000001/reviews/rev_01JD4R5N8Q2X7Y3Z6A9B0C1D2E/helpful".into(),
            Some(&shopper),
            None,
            404,
        ),
        (
            Method::DELETE,
            "/admin/products/{productId}/reviews/{reviewId}",
            "/admin/products/P0000001/reviews/rev_01JD4R5N8Q2X7Y3Z6A9B0C1D2E".into(),
            Some(&admin),
            None,
            404,
        ),
        (
            Method::DELETE,
            "/admin/products/{productId}/reviews/{reviewId}",
            "/admin/products/P0000001/reviews/rev_01JD4R5N8Q2X7Y3Z6A9B0C1D2E".into(),
            Some(&shopper),
            None,
            403,
        ),
        (Method::GET, "/categories", "/categories".into(), None, None, 200),
        (
            Method::GET,
            "/search",
            "/search?q=lamp&inStock=true&limit=3".into(),
            None,
            None,
            200,
        ),
        (Method::GET, "/search", "/search?limit=0".into(), None, None, 400),
        (
            Method::GET,
            "/search/suggest",
            "/search/suggest?q=wireless%20headph".into(),
            None,
            None,
            200,
        ),
        (
            Method::GET,
            "/search/suggest",
            "/search/suggest?limit=11".into(),
            None,
            None,
            400,
        ),
        (Method::GET, "/search", "/search?category=nope".into(), None, None, 404),
        (Method::GET, "/categories", "/categories?x=1".into(), None, None, 400),
        (
            Method::GET,
            "/categories/{categoryId}/products",
            "/categories/electronics/products?limit=3".into(),
            None,
            None,
            200,
        ),
        (
            Method::GET,
            "/categories/{categoryId}/products",
            "/categories/books-fiction/products?limit=100&sort=newest".into(),
            None,
            None,
            200,
        ),
        (
            Method::GET,
            "/categories/{categoryId}/products",
            "/categories/electronics/products?limit=0".into(),
            None,
            None,
            400,
        ),
        (
            Method::GET,
            "/categories/{categoryId}/products",
            "/categories/nope/products".into(),
            None,
            None,
            404,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}",
            "/admin/products/C-1".into(),
            Some(&admin),
            Some(&product),
            201,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}",
            "/admin/products/C-1".into(),
            Some(&admin),
            Some(&product),
            200,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}",
            "/admin/products/C-1".into(),
            Some(&admin),
            Some("{"),
            400,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}",
            "/admin/products/C-1".into(),
            None,
            Some(&product),
            401,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}",
            "/admin/products/C-1".into(),
            Some(&shopper),
            Some(&product),
            403,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}",
            "/admin/products/C-1".into(),
            Some(&admin),
            Some(&huge),
            413,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}/stock",
            "/admin/products/C-1/stock".into(),
            Some(&admin),
            Some(r#"{"onHand":5}"#),
            200,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}/stock",
            "/admin/products/C-1/stock".into(),
            Some(&admin),
            Some(r#"{"onHand":-5}"#),
            400,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}/stock",
            "/admin/products/NOPE/stock".into(),
            Some(&admin),
            Some(r#"{"onHand":5}"#),
            404,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}/stock",
            "/admin/products/C-1/stock".into(),
            None,
            Some(r#"{"onHand":5}"#),
            401,
        ),
        (
            Method::PUT,
            "/admin/products/{productId}/stock",
            "/admin/products/C-1/stock".into(),
            Some(&shopper),
            Some(r#"{"onHand":5}"#),
            403,
        ),
        (
            Method::POST,
            "/cart/items",
            "/cart/items".into(),
            Some(&shopper),
            Some(&add_item),
            201,
        ),
        (
            Method::POST,
            "/cart/items",
            "/cart/items".into(),
            Some(&shopper),
            Some(&add_too_many),
            409,
        ),
        (
            Method::POST,
            "/cart/items",
            "/cart/items".into(),
            Some(&shopper),
            Some(r#"{"productId":"C-1"}"#),
            400,
        ),
        (
            Method::POST,
            "/cart/items",
            "/cart/items".into(),
            None,
            Some(&add_item),
            401,
        ),
        (Method::GET, "/cart", "/cart".into(), Some(&shopper), None, 200),
        (
            Method::PATCH,
            "/cart/items/{productId}",
            "/cart/items/C-1".into(),
            Some(&shopper),
            Some(r#"{"quantity":1}"#),
            200,
        ),
        (
            Method::PATCH,
            "/cart/items/{productId}",
            "/cart/items/C-1".into(),
            Some(&shopper),
            Some(r#"{"quantity":0}"#),
            400,
        ),
        (
            Method::PATCH,
            "/cart/items/{productId}",
            "/cart/items/NOPE".into(),
            Some(&shopper),
            Some(r#"{"quantity":1}"#),
            404,
        ),
        (
            Method::DELETE,
            "/cart/items/{productId}",
            "/cart/items/C-1".into(),
            Some(&shopper),
            None,
            204,
        ),
        (
            Method::DELETE,
            "/cart/items/{productId}",
            "/cart/items/C-1".into(),
            Some(&shopper),
            None,
            404,
        ),
        (Method::GET, "/cart", "/cart".into(), None, None, 401),
    ];
    for (method, route, path, token, body, expected) in cases {
        let reply = app.send(method.clone(), &path, token, body).await;
        assert_eq!(reply.status.as_u16(), expected, "{method} {path}: {}", reply.body);
        assert!(
            reply.headers.contains_key("x-correlation-id"),
            "{method} {path}: no correlation id"
        );
        assert_matches_contract(&doc, method.as_str(), route, &reply);
    }

    // Orders need an order: check out the shopper's cart, then use its id.
    assert_eq!(app.add_to_cart(&shopper, "C-1", 1).await.status, 201);
    let order = crate::checkout::order_body(shop_payments::test_methods::VISA);
    let declined = crate::checkout::order_body(shop_payments::test_methods::DECLINED);
    let check = |method: Method, route: &'static str, reply: Reply, expected: u16| {
        assert_eq!(reply.status.as_u16(), expected, "{method} {route}: {}", reply.body);
        assert_matches_contract(&doc, method.as_str(), route, &reply);
        reply
    };
    let placed = check(
        Method::POST,
        "/orders",
        crate::checkout::checkout(&app, &shopper, "contract-1", &order).await,
        201,
    );
    check(
        Method::POST,
        "/orders",
        crate::checkout::checkout(&app, &shopper, "contract-1", &declined).await,
        422,
    );
    check(
        Method::POST,
        "/orders",
        app.post("/orders", Some(&shopper), &order).await,
        400,
    );
    check(
        Method::POST,
        "/orders",
        crate::checkout::checkout(&app, &shopper, "contract-2", &order).await,
        409,
    );
    let id = placed.body["orderId"].as_str().unwrap().to_owned();
    let get = |path: String| {
        let (app, shopper) = (&app, &shopper);
        async move { app.send(Method::GET, &path, Some(shopper), None).await }
    };
    check(Method::GET, "/orders", get("/orders?limit=1".into()).await, 200);
    check(Method::GET, "/orders", get("/orders?limit=500".into()).await, 400);
    check(
        Method::GET,
        "/orders/{orderId}",
        get(format!("/orders/{id}")).await,
        200,
    );
    check(
        Method::GET,
        "/orders/{orderId}",
        get("/orders/ord_00000000000000000000000000".into()).await,
        404,
    );
    let status = |body: &'static str| {
        let (app, admin, id) = (&app, &admin, &id);
        async move { app.post(&format!("/admin/orders/{id}/status"), Some(admin), body).await }
    };
    let route = "/admin/orders/{orderId}/status";
    check(Method::POST, route, status(r#"{"status":"packed"}"#).await, 200);
    check(Method::POST, route, status(r#"{"status":"delivered"}"#).await, 409);
    check(Method::POST, route, status(r#"{"status":"lost"}"#).await, 400);
    let cancel = app
        .send(Method::POST, &format!("/orders/{id}/cancel"), Some(&shopper), None)
        .await;
    check(Method::POST, "/orders/{orderId}/cancel", cancel, 200);
    app.stop().await;
}

/// docs/asyncapi.yaml describes the messages the relay sends and the live
/// socket's messages: each kind, as the code makes it, matches its payload
/// schema.
#[test]
fn the_relays_and_the_sockets_messages_match_the_asyncapi_document() {
    let text = std::fs::read_to_string(devstack::project_root().join("docs/asyncapi.yaml")).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
    let check = |message: &str, body: &str| {
        let schema = &doc["components"]["messages"][message]["payload"];
        let validator = jsonschema::draft202012::new(schema).expect("the AsyncAPI schemas compile");
        let value: Value = serde_json::from_str(body).unwrap();
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{message}: {errors:?}\n{body}");
    };
    let product = ProductId::parse("P0000001").unwrap();
    let changed = shop_domain::events::CatalogEvent::ProductChanged {
        product_id: product.clone(),
        event_id: "e-1".into(),
    };
    check("ProductChanged", &serde_json::to_string(&changed).unwrap());
    let stock = shop_domain::events::CatalogEvent::StockChanged {
        product_id: product,
        event_id: "e-2".into(),
    };
    check("StockChanged", &serde_json::to_string(&stock).unwrap());
    let order: shop_domain::events::OrderEvent = serde_json::from_value(json!({
        "eventId": "ord_01J0000000000000000000000A-OrderPlaced-v1", "type": "OrderPlaced",
        "orderId": "ord_01J0000000000000000000000A", "version": 1, "occurredAt": "2026-11-26T09:00:00Z",
        "payload": {
            "orderId": "ord_01J0000000000000000000000A", "userId": "alice", "status": "confirmed",
            "lines": [{ "productId": "P0000001", "quantity": 2 }], "total": { "amount": 100, "currency": "USD" }
        }
    }))
    .unwrap();
    check("OrderEvent", &serde_json::to_string(&order).unwrap());
    let record: aws_lambda_events::dynamodb::EventRecord = serde_json::from_value(json!({
        "eventID": "e-3", "eventName": "INSERT", "awsRegion": "us-east-1",
        "dynamodb": { "Keys": { "pk": { "S": "OUTBOX#x" }, "sk": { "S": "EVENT" } }, "SequenceNumber": "7", "SizeBytes": 1 }
    }))
    .unwrap();
    let rated: shop_domain::events::ReviewRated = serde_json::from_value(json!({
        "type": "ReviewRated", "eventId": "e-4", "productId": "P0000001",
        "reviewId": "rev_01JD4R5N8Q2X7Y3Z6A9B0C1D2E", "before": null, "after": 4
    }))
    .unwrap();
    check("ReviewRated", &serde_json::to_string(&rated).unwrap());
    let error = shop_events::route(&record).unwrap_err();
    check("UnreadableRecord", &shop_events::unreadable(&record, &error).body);

    let subscribe = r#"{"action":"subscribe","productIds":["P0000001"],"orderIds":["ord_01J0000000000000000000000A"]}"#;
    assert_eq!(shop_live::parse_subscribe(subscribe).unwrap().len(), 2);
    check("Subscribe", subscribe);
    let level = shop_domain::stock::StockLevel {
        on_hand: 5,
        available: 3,
        reserved: 2,
        sold: 0,
    };
    let stock = shop_live::StockUpdate::new(ProductId::parse("P0000001").unwrap(), &level);
    check("StockUpdate", &serde_json::to_string(&stock).unwrap());
    let order = shop_live::OrderChanged::new(OrderId::parse("ord_01J0000000000000000000000A").unwrap());
    check("OrderChanged", &serde_json::to_string(&order).unwrap());
}
