//! The Lambda rehearsal (`devstack up --lambda`): every function runs as its
//! `cargo lambda build` bootstrap, in processes with their own Runtime API,
//! environment, `/tmp` and timeout (`devstack::rehearsal`).

use crate::checkout::{checkout, order_body};
use crate::helpers::{TestApp, product_body, within};
use crate::live;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use devstack::iam::TemplatePolicies;
use devstack::rehearsal::{Image, InvokeError, Pool};
use devstack::{LambdaRehearsal, StackOptions};
use shop_payments::test_methods;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The bootstraps `scripts/lambda-build` makes (the test command builds
/// them before the tests; here cargo finds nothing to do), copied into
/// `code` as a deploy would.
async fn bootstraps(code: &std::path::Path) -> std::path::PathBuf {
    devstack::rehearsal::build_bootstraps(code)
        .await
        .expect("scripts/lambda-build builds every function")
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("rehearsal-").tempdir().unwrap()
}

/// A seeded stack whose functions all run as Lambda processes, under the
/// roles template.yaml gives them.
async fn rehearsal(products: usize, scratch: &tempfile::TempDir) -> TestApp {
    rehearsal_with(products, scratch, None).await
}

/// The same, under `policies` instead.
async fn rehearsal_with(products: usize, scratch: &tempfile::TempDir, policies: Option<TemplatePolicies>) -> TestApp {
    rehearsal_as(products, scratch, policies, false).await
}

/// The same, metering each function's use when `meter` is set.
async fn rehearsal_as(
    products: usize,
    scratch: &tempfile::TempDir,
    policies: Option<TemplatePolicies>,
    meter: bool,
) -> TestApp {
    TestApp::spawn_with(StackOptions {
        sqs: true,
        seed_products: Some(products),
        retry_delay: Some(Duration::from_secs(1)),
        lambda: Some(LambdaRehearsal {
            bootstraps: bootstraps(&scratch.path().join("code")).await,
            concurrency: 2,
            scratch: scratch.path().to_owned(),
            policies,
            meter,
        }),
        ..StackOptions::for_tests()
    })
    .await
}

/// What the rehearsal's IAM refused so far.
fn denials(app: &TestApp) -> Vec<devstack::iam::Denial> {
    app.stack.iam.as_ref().expect("the rehearsal enforces IAM").denials()
}

fn invocations(app: &TestApp, function: &str) -> u64 {
    app.stack.pools[function].stats().invocations()
}

#[tokio::test]
async fn metering_counts_what_each_function_asks_of_dynamodb_sqs_and_search() {
    let scratch = scratch();
    let app = rehearsal_as(5, &scratch, None, true).await;
    let meter = app.stack.meter.clone().expect("the rehearsal meters");
    meter.take();

    let reply = app.get("/products/P0000001").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = app.shopper();
    let reply = app.add_to_cart(&token, "P0000002", 1).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = app.get("/search?q=P0000001").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let usage = meter.usage();
    let read = &usage["GetProductFunction"];
    assert!(read.read_units > 0.0 && read.write_units == 0.0, "{read:?}");
    assert!(read.dynamodb_requests >= 1, "{read:?}");
    // The cart and the product read, then one transaction: the line and
    // the stock shard, two units each for an item under 1 KB.
    let add = &usage["AddCartItemFunction"];
    assert!(add.read_units > 0.0, "{add:?}");
    assert!(add.write_units >= 4.0, "{add:?}");
    assert_eq!(usage["SearchFunction"].search_queries, 1, "{usage:?}");

    // A new product's stream record: the relay sends messages, the index
    // updater writes its document.
    let body = product_body("Metered Oak Shelf", "home-kitchen-lighting", 2999);
    let reply = app.put("/admin/products/MET-1", Some(&app.admin()), &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    within(
        Duration::from_secs(30),
        "the relay and the index updater are metered",
        async || {
            let usage = meter.usage();
            let sent = usage.get("RelayEventsFunction").map_or(0, |u| u.sqs_messages);
            let indexed = usage.get("UpdateSearchIndexFunction").map_or(0, |u| u.search_writes);
            (sent > 0 && indexed > 0).then_some(())
        },
    )
    .await;
    let relay = app.stack.pools["RelayEventsFunction"].stats();
    assert!(relay.records > 0 && relay.busy > Duration::ZERO, "{relay:?}");
    // The callers got their answers as they asked: the add worked, and the
    // ledger is whole.
    app.assert_ledger_adds_up().await;
}

#[tokio::test]
async fn routes_mappings_and_the_relay_run_as_lambda_processes() {
    let scratch = scratch();
    let app = rehearsal(5, &scratch).await;
    // Every function but reindex-search, which only CloudFormation invokes.
    assert_eq!(app.stack.pools.len(), app.stack.template.functions.len() - 1);
    assert!(!app.stack.pools.contains_key("ReindexSearchFunction"));

    // A cold start, then the same instance warm.
    for _ in 0..2 {
        let reply = app.get("/products/P0000001").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["productId"], "P0000001");
        assert_eq!(
            reply.headers["access-control-allow-origin"],
            app.stack.web_url.as_str(),
            "CORS comes from the function's own answer"
        );
    }
    let stats = app.stack.pools["GetProductFunction"].stats();
    assert_eq!((stats.cold_invocations, stats.warm_invocations), (1, 1));
    assert_eq!(stats.inits.len(), 1);

    // Writes: the cart, a checkout, the orders list, each in its function's process.
    let token = app.shopper();
    let reply = app.add_to_cart(&token, "P0000002", 2).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = checkout(&app, &token, "rehearsal-order", &order_body(test_methods::VISA)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = app.send(reqwest::Method::GET, "/orders", Some(&token), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["orders"].as_array().map(Vec::len), Some(1), "{}", reply.body);
    app.assert_ledger_adds_up().await;

    // The table's stream reaches the relay's process, and its order event
    // the recommendations worker's.
    within(
        Duration::from_secs(30),
        "the relay and the recommender run",
        async || {
            (invocations(&app, "RelayEventsFunction") > 0 && invocations(&app, "UpdateRecommendationsFunction") > 0)
                .then_some(())
        },
    )
    .await;
    // Search runs on OpenSearch (osmem-server) as in AWS, indexed at start
    // by reindex-search; a new product reaches it through the relay's,
    // then the index updater's, processes.
    let reply = app.get("/search?q=P0000001").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = product_body("Rehearsed Walnut Lamp", "home-kitchen-lighting", 4999);
    let reply = app.put("/admin/products/REH-1", Some(&app.admin()), &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let (_, fresh) = within(Duration::from_secs(20), "the new product is searchable", async || {
        let reply = app.get("/search?q=rehearsed").await;
        let hits = reply.body["products"].as_array().cloned().unwrap_or_default();
        hits.iter().any(|h| h["productId"] == "REH-1").then_some(())
    })
    .await;
    eprintln!("search freshness through the rehearsal's processes: {fresh:?}");
    assert!(invocations(&app, "UpdateSearchIndexFunction") > 0);

    // The WebSocket API's functions, whose roles reach only the
    // connection items (dynamodb:LeadingKeys): a page subscribes, and
    // hears of a stock change through the relay's and push-stock's processes.
    let mut page = live::connect(&app).await;
    live::subscribe(&app, &mut page, &["P0000003"]).await;
    assert_eq!(app.set_stock("P0000003", 7).await.status, 200);
    let update = live::next_stock_within(&mut page, "P0000003", Duration::from_secs(20)).await;
    assert_eq!(update["available"], 7, "{update}");
    assert!(invocations(&app, "LiveSocketFunction") >= 2, "connect and subscribe");
    assert!(invocations(&app, "PushStockFunction") > 0);

    // A bad token never reaches a function: the gateway refuses it.
    let reply = app
        .send(reqwest::Method::GET, "/orders", Some("not-a-token"), None)
        .await;
    reply.problem(401, "UNAUTHORIZED");
    assert_eq!(denials(&app), [], "every call was within its function's role");
    app.stop().await;
}

/// get-product as a pool of its own, with `timeout`, its DynamoDB at
/// `dynamodb`.
async fn get_product(
    app: &TestApp,
    dynamodb: &str,
    code: &tempfile::TempDir,
    scratch: &tempfile::TempDir,
    timeout: Duration,
    concurrency: usize,
) -> Arc<Pool> {
    let variables = BTreeMap::from([
        ("TABLE_NAME".to_owned(), app.stack.table().to_owned()),
        ("ALLOWED_ORIGIN".to_owned(), "https://shop.example.com".to_owned()),
        ("STACK_NAME".to_owned(), "storefront-test".to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), dynamodb.to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "GetProductFunction".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "rehearsal".to_owned()),
    ]);
    Pool::new(
        Image {
            name: "storefront-test-GetProductFunction".into(),
            bootstrap: bootstraps(code.path()).await.join("get-product").join("bootstrap"),
            variables,
            memory_mb: 256,
            timeout,
            region: "us-east-1".into(),
            scratch: scratch.path().to_owned(),
        },
        concurrency,
    )
}

fn event() -> Vec<u8> {
    std::fs::read(devstack::project_root().join("tests/fixtures/apigw-get-product.json")).unwrap()
}

#[tokio::test]
async fn a_timeout_kills_the_instance_and_the_next_invocation_starts_cold() {
    let app = TestApp::seeded(3).await;
    let (code, scratch) = (scratch(), scratch());
    // A DynamoDB that accepts connections and never answers: every
    // invocation outlasts its timeout, however fast the machine.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let pool = get_product(&app, &silent_url, &code, &scratch, Duration::from_millis(300), 1).await;
    for _ in 0..2 {
        match pool.invoke(event()).await {
            Err(InvokeError::Timeout { seconds, .. }) => assert_eq!(seconds, 0.3),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
    let stats = pool.stats();
    assert_eq!(stats.timeouts, 2);
    assert_eq!(
        stats.inits.len(),
        2,
        "each timed-out instance was replaced by a cold one"
    );
    assert_eq!(pool.idle(), 0);
    assert_eq!(
        std::fs::read_dir(scratch.path()).unwrap().count(),
        0,
        "a killed instance's /tmp is gone with it"
    );
    app.stop().await;
}

#[tokio::test]
async fn instances_serve_one_invocation_at_a_time_up_to_the_cap_each_with_its_own_tmp() {
    let app = TestApp::seeded(3).await;
    let (code, scratch) = (scratch(), scratch());
    let pool = get_product(
        &app,
        &app.stack.dynamodb_url,
        &code,
        &scratch,
        Duration::from_secs(10),
        2,
    )
    .await;
    let answers = futures::future::join_all((0..8).map(|_| pool.invoke(event()))).await;
    for answer in answers {
        let answer: serde_json::Value = serde_json::from_slice(&answer.expect("an answer")).unwrap();
        assert_eq!(answer["statusCode"], 200, "{answer}");
    }
    let stats = pool.stats();
    assert_eq!(stats.cold_invocations, 2, "never more instances than the cap");
    assert_eq!(stats.warm_invocations, 6, "the rest reused a warm instance");
    assert_eq!(pool.idle(), 2);
    let tmps: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert_eq!(tmps.len(), 2, "one private /tmp per instance");
    drop(pool);
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_function_that_fails_init_is_reported_as_lambda_would() {
    let app = TestApp::seeded(1).await;
    let (code, scratch) = (scratch(), scratch());
    let pool = Pool::new(
        Image {
            name: "storefront-test-GetProductFunction".into(),
            bootstrap: bootstraps(code.path()).await.join("get-product").join("bootstrap"),
            // No TABLE_NAME, no STACK_NAME: what a template that forgot them gives.
            variables: BTreeMap::new(),
            memory_mb: 256,
            timeout: Duration::from_secs(10),
            region: "us-east-1".into(),
            scratch: scratch.path().to_owned(),
        },
        1,
    );
    match pool.invoke(event()).await {
        Err(InvokeError::Init { reason, .. }) => assert!(reason.contains("STACK_NAME"), "{reason}"),
        other => panic!("expected an init failure, got {other:?}"),
    }
    app.stop().await;
}

/// The project's black-box suite (catalog, sign-in, cart, checkout, orders,
/// search, as CI runs it against a deployed stack) against the rehearsal.
#[tokio::test]
async fn the_smoke_suite_passes_against_the_rehearsal() {
    let scratch = scratch();
    let app = rehearsal(60, &scratch).await;
    let options = devstack::smoke::SmokeOptions {
        search_within: Duration::from_secs(60),
        poll_every: Duration::from_millis(50),
        print: true,
        ..devstack::smoke::SmokeOptions::default()
    };
    let report = devstack::smoke::run(&app.stack.api_url, &app.admin(), options)
        .await
        .expect("the suite starts");
    assert!(
        report.is_success(),
        "the smoke suite failed against the rehearsal:\n{report}"
    );
    assert!(report.search_freshness.is_some(), "the created product reached search");
    // The schedules' stand-in for EventBridge: every `rate(1 minute)`
    // function's process has run within the stack's first minute or so.
    let every_minute = app
        .stack
        .template
        .functions
        .iter()
        .filter(|f| f.schedule == Some(Duration::from_secs(60)));
    for function in every_minute {
        let what = format!("{}'s schedule invokes it", function.logical_id);
        within(Duration::from_secs(90), &what, async || {
            (invocations(&app, &function.logical_id) > 0).then_some(())
        })
        .await;
    }
    assert_eq!(denials(&app), [], "every call was within its function's role");
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

/// IAM from template.yaml is enforced: without the statement SAM's
/// DynamoDBCrudPolicy gives add-cart-item, its route fails because DynamoDB
/// (the rehearsal's IAM proxy) refuses the function's calls with the
/// AccessDeniedException AWS sends, and nothing is written.
#[tokio::test]
async fn a_statement_removed_from_a_role_refuses_its_route_as_aws_would() {
    let scratch = scratch();
    let mut policies = TemplatePolicies::translate(&devstack::project_root())
        .await
        .expect("the SAM translator reads template.yaml");
    let removed = policies
        .remove_statement("AddCartItemFunction", "AddCartItemFunctionRolePolicy0", 0)
        .unwrap();
    assert!(
        removed["Action"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "dynamodb:UpdateItem"),
        "the statement of DynamoDBCrudPolicy: {removed}"
    );
    let app = rehearsal_with(3, &scratch, Some(policies)).await;

    let token = app.shopper();
    let reply = app.add_to_cart(&token, "P0000001", 1).await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(
        reply.headers["content-type"], "application/problem+json",
        "the function's own answer to a store failure"
    );
    let refused = denials(&app);
    assert!(!refused.is_empty());
    for denial in &refused {
        assert_eq!(denial.function, "AddCartItemFunction");
        assert_eq!(
            denial.resource,
            "arn:aws:dynamodb:us-east-1:123456789012:table/ShopTable"
        );
        assert_eq!(
            denial.message,
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/storefront-local-AddCartItemFunctionRole/\
                 storefront-local-AddCartItemFunction is not authorized to perform: {} on resource: {} \
                 because no identity-based policy allows the {} action",
                denial.action, denial.resource, denial.action
            )
        );
    }

    // The other functions keep their roles: the cart reads, still empty.
    let reply = app.send(reqwest::Method::GET, "/cart", Some(&token), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(0), "{}", reply.body);
    assert_eq!(app.get("/products/P0000001").await.status, 200);
    assert_eq!(denials(&app).len(), refused.len(), "only add-cart-item was refused");

    // The SDKs read the refusal as AWS's own: DynamoDB's a 400
    // AccessDeniedException; SQS's a 403 whose code the SDK takes from the
    // query-compatible header, AccessDenied (add-cart-item may not use SQS).
    let (dynamodb, sqs) = signed_as(&app, "AddCartItemFunction");
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
    let refused = dynamodb
        .put_item()
        .table_name(app.stack.table())
        .item("pk", s("PRODUCT#P0000001"))
        .item("sk", s("PRODUCT"))
        .send()
        .await
        .expect_err("the removed statement allowed PutItem");
    assert_eq!(refused.code(), Some("AccessDeniedException"), "{refused:?}");
    assert_eq!(refused.raw_response().map(|r| r.status().as_u16()), Some(400));
    let refused = sqs
        .send_message()
        .queue_url(&app.stack.queues["SearchIndexQueue"].url)
        .message_body("{}")
        .send()
        .await
        .expect_err("add-cart-item's role has no SQS statement");
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");
    assert_eq!(refused.raw_response().map(|r| r.status().as_u16()), Some(403));
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

/// DynamoDB and SQS clients that call through the rehearsal's IAM proxy
/// signed as `function`, as that function's process does.
fn signed_as(app: &TestApp, function: &str) -> (aws_sdk_dynamodb::Client, aws_sdk_sqs::Client) {
    let url = app.stack.iam_url.as_deref().expect("the rehearsal's IAM proxy");
    let sdk = shop_store::aws::local_sdk_config()
        .into_builder()
        .endpoint_url(url)
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new(function, "rehearsal", None, None, "rehearsal"),
        ))
        .build();
    (aws_sdk_dynamodb::Client::new(&sdk), aws_sdk_sqs::Client::new(&sdk))
}
