use crate::helpers::TestApp;
use aws_sdk_sqs::types::QueueAttributeName;
use devstack::StackOptions;
use reqwest::Method;

#[tokio::test]
async fn every_route_of_the_template_is_served_and_guarded_as_declared() {
    let app = TestApp::seeded(3).await;
    let mut checked = 0;
    for function in &app.stack.template.functions {
        for route in &function.routes {
            let path = route
                .path
                .replace("{productId}", "P0000001")
                .replace("{categoryId}", "books");
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let reply = app.send(method, &path, None, Some("{}")).await;
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            assert!(
                !detail.starts_with("route "),
                "{} {} is not served",
                route.method,
                route.path
            );
            if route.authorized {
                assert_eq!(reply.status, 401, "{} {} must need a token", route.method, route.path);
            } else {
                assert_eq!(reply.status, 200, "{} {} must be public", route.method, route.path);
            }
            checked += 1;
        }
    }
    assert!(checked >= 5);
    app.stop().await;
}

#[tokio::test]
async fn cors_lets_only_the_storefront_read_the_api_like_the_template_configures() {
    let app = TestApp::spawn().await;
    let reply = app.send(Method::OPTIONS, "/admin/products/P1", None, None).await;
    assert_eq!(reply.status, 204);
    let storefront = app.stack.web_url.as_str();
    assert_eq!(reply.headers["access-control-allow-origin"], storefront);
    assert!(
        reply.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    let get = app.get("/categories").await;
    assert_eq!(get.headers["access-control-allow-origin"], storefront);
    let refused = app.get("/no-such-route").await;
    assert_eq!(refused.status, 404);
    assert_eq!(refused.headers["access-control-allow-origin"], storefront);
    app.stop().await;
}

#[tokio::test]
async fn the_template_queues_are_created_in_moto_with_their_dead_letter_queues() {
    let app = TestApp::spawn_with(StackOptions {
        sqs: true,
        ..StackOptions::for_tests()
    })
    .await;
    let sqs = app.stack.sqs.as_ref().expect("SQS is running");
    assert_eq!(app.stack.queues.len(), app.stack.template.queues.len());
    for spec in &app.stack.template.queues {
        let queue = &app.stack.queues[&spec.logical_id];
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        for (name, value) in &spec.attributes {
            assert_eq!(
                attributes.get(&QueueAttributeName::from(name.as_str())),
                Some(value),
                "{}: {name}",
                spec.logical_id
            );
        }
        if let Some((dlq, receives)) = &spec.dead_letter {
            let policy: serde_json::Value =
                serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
            assert_eq!(policy["deadLetterTargetArn"], app.stack.queues[dlq].arn);
            assert_eq!(
                policy["maxReceiveCount"].to_string().trim_matches('"'),
                receives.to_string()
            );
        }
    }
    // A message goes through (a queue no worker of the stack consumes).
    let queue = &app.stack.queues["RelayDeadLetterQueue"].url;
    sqs.send_message()
        .queue_url(queue)
        .message_body("hello")
        .send()
        .await
        .unwrap();
    let received = sqs
        .receive_message()
        .queue_url(queue)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages()[0].body(), Some("hello"));
    app.stop().await;
}

#[tokio::test]
async fn data_is_kept_between_runs_unless_reset() {
    let dir = tempfile::tempdir().unwrap();
    let options = StackOptions {
        data_file: Some(dir.path().join("dynamodb.sqlite")),
        seed_products: Some(20),
        ..StackOptions::for_tests()
    };
    let first = TestApp::spawn_with(options.clone()).await;
    let admin = first.admin();
    first
        .put("/admin/products/P0000003/stock", Some(&admin), r#"{"onHand": 77}"#)
        .await;
    first.stop().await;

    let second = TestApp::spawn_with(StackOptions {
        seed_products: Some(50),
        ..options
    })
    .await;
    assert_eq!(second.stack.seeded, Some(20), "an existing catalog is not seeded again");
    assert_eq!(second.get("/products/P0000003").await.body["available"], 77);
    second.get("/products/P0000021").await.problem(404, "NOT_FOUND");
    second.stop().await;
}
