//! `TestApp`: a fresh stack per test and a small HTTP client for it.

use aws_sdk_dynamodb::types::AttributeValue;
use devstack::{Stack, StackOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct TestApp {
    pub stack: Stack,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    /// The body exactly as sent.
    pub text: String,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem+json answer with `status` and `code`, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        &self.body
    }

    /// The field names of a validation problem.
    pub fn fields(&self) -> Vec<String> {
        shop_edge::testing::fields(&self.body)
    }
}

impl TestApp {
    /// A shop with the seeded category tree and no products.
    pub async fn spawn() -> Self {
        Self::seeded(0).await
    }

    /// A shop seeded with `products` products.
    pub async fn seeded(products: usize) -> Self {
        Self::spawn_with(StackOptions {
            seed_products: Some(products),
            ..StackOptions::for_tests()
        })
        .await
    }

    /// A stack with moto running, and an SDK configuration for any AWS
    /// service moto emulates (it serves every service on one endpoint).
    pub async fn with_moto() -> (Self, shop_store::aws::SdkConfig) {
        let app = Self::spawn_with(StackOptions {
            sqs: true,
            ..StackOptions::for_tests()
        })
        .await;
        let moto = app.stack.sqs_url.clone().expect("moto is running");
        let sdk = shop_store::aws::local_sdk_config()
            .into_builder()
            .endpoint_url(&moto)
            .build();
        (app, sdk)
    }

    pub async fn spawn_with(options: StackOptions) -> Self {
        let stack = Stack::start(options).await.expect("the stack starts");
        Self {
            stack,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stack.api_url)
    }

    pub fn admin(&self) -> String {
        self.stack.token("admin-1", true)
    }

    pub fn shopper(&self) -> String {
        self.stack.token("shopper-1", false)
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<&str>) -> Reply {
        self.try_send(method, path, token, body, &[])
            .await
            .expect("the API answers")
    }

    /// Sends a request with extra headers; `Err` if the connection broke
    /// (as it does when a handler crashes).
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_owned());
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
        };
        Ok(Reply {
            status,
            headers,
            body,
            text,
        })
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &str) -> Reply {
        self.send(Method::PUT, path, token, Some(body)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> Reply {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// `POST /cart/items` as `token`'s shopper.
    pub async fn add_to_cart(&self, token: &str, product: &str, quantity: i64) -> Reply {
        let body = serde_json::json!({ "productId": product, "quantity": quantity }).to_string();
        self.post("/cart/items", Some(token), &body).await
    }

    /// Creates a product as an admin; asserts it was created.
    pub async fn create_product(&self, id: &str, title: &str, category: &str, amount: i64) {
        let body = product_body(title, category, amount);
        let reply = self
            .put(&format!("/admin/products/{id}"), Some(&self.admin()), &body)
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }

    /// Sets a product's stock on hand as an admin.
    pub async fn set_stock(&self, id: &str, on_hand: i64) -> Reply {
        let body = format!(r#"{{"onHand": {on_hand}}}"#);
        self.put(&format!("/admin/products/{id}/stock"), Some(&self.admin()), &body)
            .await
    }

    /// The product count `GET /categories` shows for a department, or for
    /// one of its leaves.
    pub async fn category_count(&self, department: &str, leaf: Option<&str>) -> u64 {
        let tree = self.get("/categories").await.body;
        let find = |nodes: &Value, id: &str| -> Value {
            nodes
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["categoryId"] == id)
                .unwrap()
                .clone()
        };
        let mut node = find(&tree["categories"], department);
        if let Some(leaf) = leaf {
            node = find(&node["children"], leaf);
        }
        node["productCount"].as_u64().unwrap()
    }

    /// Every item of the table, to prove a refused request changed nothing.
    /// (A scan is fine in a test; the functions never scan.)
    pub async fn snapshot(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .stack
                .dynamodb
                .scan()
                .table_name(self.stack.table())
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        items.sort_by_key(|i| format!("{:?}{:?}", i.get("pk"), i.get("sk")));
        items
    }

    /// The shop's table as the functions see it, on the stack's clock.
    pub fn store(&self) -> shop_store::DynamoStore {
        shop_store::DynamoStore::new(self.stack.dynamodb.clone(), self.stack.table())
            .with_clock(self.stack.clock.clone())
    }

    /// Every payment the simulated provider holds.
    pub async fn payments(&self) -> Vec<shop_domain::payment::Payment> {
        use shop_payments::PaymentProvider;
        let epoch = time::OffsetDateTime::UNIX_EPOCH;
        shop_payments::simulated::SimulatedProvider::new(self.store())
            .list(epoch)
            .await
            .expect("the payments list")
    }

    /// (payments that kept the money, payments refunded, declined payments)
    pub async fn charges(&self) -> (usize, usize, usize) {
        use shop_domain::payment::PaymentState;
        let payments = self.payments().await;
        let count = |f: fn(&PaymentState) -> bool| payments.iter().filter(|p| f(&p.state)).count();
        (
            count(|s| *s == PaymentState::Succeeded),
            count(|s| *s == PaymentState::Refunded),
            count(|s| matches!(s, PaymentState::Declined { .. })),
        )
    }

    /// Audits the whole ledger as `devstack audit` does; asserts it adds up.
    pub async fn assert_ledger_adds_up(&self) -> shop_orders::audit::AuditReport {
        let report = devstack::RunningStack::of(&self.stack)
            .audit()
            .await
            .expect("the audit runs");
        let found: Vec<String> = report.discrepancies.iter().map(ToString::to_string).collect();
        assert!(found.is_empty(), "the ledger does not add up:\n{}", found.join("\n"));
        assert!(report.unsettled.is_empty(), "unsettled: {:?}", report.unsettled);
        report
    }

    /// Every stock shard of a product, straight from the table.
    pub async fn stock_shards(&self, product_id: &str) -> Vec<HashMap<String, AttributeValue>> {
        self.stack
            .dynamodb
            .query()
            .table_name(self.stack.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :stock)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("PRODUCT#{product_id}")))
            .expression_attribute_values(":stock", AttributeValue::S("STOCK#".into()))
            .consistent_read(true)
            .send()
            .await
            .expect("query")
            .items()
            .to_vec()
    }

    /// Asserts on-hand = available + reserved + sold on every shard, none negative.
    pub async fn assert_stock_invariant(&self, product_id: &str) {
        let shards = self.stock_shards(product_id).await;
        assert!(!shards.is_empty(), "{product_id} has no stock items");
        for shard in shards {
            let n = |name: &str| number(&shard, name);
            assert_eq!(
                n("onHand"),
                n("available") + n("reserved") + n("sold"),
                "invariant broken: {shard:?}"
            );
            assert!(
                n("available") >= 0 && n("reserved") >= 0 && n("sold") >= 0,
                "negative stock: {shard:?}"
            );
        }
    }

    pub async fn stop(self) {
        self.stack.stop().await.expect("the stack stops cleanly");
    }
}

/// A stack whose pipeline runs, with failed messages retried after a second
/// (instead of the queue's 60 s visibility timeout).
pub async fn with_pipeline(products: usize) -> TestApp {
    TestApp::spawn_with(StackOptions {
        sqs: true,
        seed_products: Some(products),
        retry_delay: Some(Duration::from_secs(1)),
        ..StackOptions::for_tests()
    })
    .await
}

/// Polls `check` until it answers `Some`, failing the test after `deadline`.
pub async fn within<T>(deadline: Duration, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> (T, Duration) {
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return (value, started.elapsed());
        }
        assert!(started.elapsed() < deadline, "{what}: not within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A number attribute of an item read straight from the table.
pub fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().unwrap(),
        other => panic!("{name} is {other:?}"),
    }
}

/// A valid product body for `PUT /admin/products/{id}`.
pub fn product_body(title: &str, category: &str, amount: i64) -> String {
    serde_json::json!({
        "title": title,
        "description": "A test product.",
        "brand": "Acme",
        "categoryId": category,
        "price": { "amount": amount, "currency": "USD" },
    })
    .to_string()
}
