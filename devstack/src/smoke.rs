//! The smoke suite: drives a running stack, local or deployed, only through
//! its public HTTP API ([`ApiClient`]), the way a shopper and an admin would,
//! and checks each part answers as infra/openapi.yaml says. `devstack smoke
//! --api URL` runs it; so does a test against a local stack.
//!
//! Steps, in order; the run stops at the first that fails:
//! 1. `catalog`: `GET /categories`, browse a leaf category, `GET` a product
//!    (one with at least two units available, for the cart);
//! 2. `sign-in`: the token is an admin's (if it is a JWT, by its
//!    `cognito:groups`) and is accepted (`GET /cart` answers 200), and the
//!    same request without a token answers 401;
//! 3. `cart`: add one unit of the product, read the cart back, change the
//!    quantity to two (lines a failed earlier run left are removed first);
//! 4. `checkout`: `POST /orders` with an `Idempotency-Key`; the same request
//!    again replays the same order (`Idempotent-Replayed: true`);
//! 5. `order`: `GET /orders/{id}`, the order is in `GET /orders`, then it is
//!    cancelled, which returns the stock the run took (and the charge);
//! 6. `search`: a word of the product's title finds products; then a product
//!    the run creates (`PUT /admin/products/SMOKE-<unix time>` in the same
//!    leaf category, with stock) is found in stock within
//!    [`SmokeOptions::search_within`], polled.
//!
//! The token must be a user's in the `admin` group (step 6 creates a
//! product); that user's cart and orders are the ones used. The product a
//! run creates keeps its recognisable id (`SMOKE-…`) and is left with no
//! stock, so repeated runs against a deployed stack neither collide nor
//! leave anything on sale.

use crate::client::{Answer, ApiClient, ClientError};
use anyhow::{Context, anyhow, bail, ensure};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The suite's steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepName {
    Catalog,
    SignIn,
    Cart,
    Checkout,
    Order,
    Search,
}

impl StepName {
    pub const ALL: [Self; 6] = [
        Self::Catalog,
        Self::SignIn,
        Self::Cart,
        Self::Checkout,
        Self::Order,
        Self::Search,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::SignIn => "sign-in",
            Self::Cart => "cart",
            Self::Checkout => "checkout",
            Self::Order => "order",
            Self::Search => "search",
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step's outcome.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: StepName,
    pub elapsed: Duration,
    /// Why it failed: the request, the status and the problem's detail.
    pub failure: Option<String>,
}

impl fmt::Display for Step {
    /// `ok  <step> (<ms> ms)` or `FAIL <step>: <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            None => write!(f, "ok  {} ({} ms)", self.name, self.elapsed.as_millis()),
            Some(reason) => write!(f, "FAIL {}: {reason}", self.name),
        }
    }
}

/// What a run did: its steps up to the first failure.
#[derive(Debug, Clone)]
pub struct Report {
    pub steps: Vec<Step>,
    /// The product the cart, the order and the first search used.
    pub product_id: Option<String>,
    /// The order the run placed (and cancelled).
    pub order_id: Option<String>,
    /// The product the run created for the search freshness check.
    pub created_product_id: String,
    /// How long that product took to be found in stock.
    pub search_freshness: Option<Duration>,
}

impl Report {
    /// Every step ran and passed.
    pub fn is_success(&self) -> bool {
        self.steps.len() == StepName::ALL.len() && self.steps.iter().all(|s| s.failure.is_none())
    }

    /// The step that failed, if one did.
    pub fn failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.failure.is_some())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// How long the product the run creates may take to be found in stock
    /// by search (the event pipeline's freshness).
    pub search_within: Duration,
    /// How often search is asked meanwhile.
    pub poll_every: Duration,
    /// The id of the product the run creates; `SMOKE-<unix time>` if `None`.
    pub created_product_id: Option<String>,
    /// Print each step's line to stdout as it finishes.
    pub print: bool,
}

impl Default for SmokeOptions {
    fn default() -> Self {
        Self {
            search_within: Duration::from_secs(60),
            poll_every: Duration::from_millis(500),
            created_product_id: None,
            print: false,
        }
    }
}

/// The bearer token for a run against `api`: the one given (`--token` or
/// `STOREFRONT_TOKEN`), or, against a loopback API only, a local admin
/// token signed with `jwt_secret`.
pub fn resolve_token(api: &str, given: Option<String>, jwt_secret: &str) -> anyhow::Result<String> {
    match given.filter(|t| !t.trim().is_empty()) {
        Some(token) => Ok(token),
        None if crate::client::is_loopback(api) => Ok(crate::token::mint(
            jwt_secret,
            "devstack-smoke",
            &[shop_edge::http::ADMIN_GROUP],
            Duration::from_secs(3600),
        )),
        None => bail!(
            "{api} is not a local stack, so the smoke suite needs a token: pass --token or set STOREFRONT_TOKEN \
             to an ID token of a user in the admin group (in AWS, a Cognito ID token)"
        ),
    }
}

/// Runs the suite against the API at `api_url` as the user of `token`.
/// `Err` only if it cannot start (a malformed URL); a failing step is in the
/// [`Report`].
pub async fn run(api_url: &str, token: &str, options: SmokeOptions) -> anyhow::Result<Report> {
    let api = ApiClient::new(api_url)?.with_token(token);
    let anonymous = ApiClient::new(api_url)?;
    let created = options.created_product_id.clone().unwrap_or_else(|| {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        format!("SMOKE-{unix}")
    });
    let mut run = Run {
        api,
        anonymous,
        token: token.to_owned(),
        options,
        created,
        product: None,
        line_added: false,
        order: None,
        cancelled: false,
        freshness: None,
    };
    let mut steps = Vec::new();
    for name in StepName::ALL {
        let started = Instant::now();
        let outcome = match name {
            StepName::Catalog => run.catalog().await,
            StepName::SignIn => run.sign_in().await,
            StepName::Cart => run.cart().await,
            StepName::Checkout => run.checkout().await,
            StepName::Order => run.order().await,
            StepName::Search => run.search().await,
        };
        let step = Step {
            name,
            elapsed: started.elapsed(),
            failure: outcome.err().map(|e| format!("{e:#}")),
        };
        if run.options.print {
            println!("{step}");
        }
        let failed = step.failure.is_some();
        steps.push(step);
        if failed {
            run.clean_up().await;
            break;
        }
    }
    Ok(Report {
        steps,
        product_id: run.product.as_ref().map(|p| p.product_id.clone()),
        order_id: run.order.clone(),
        created_product_id: run.created,
        search_freshness: run.freshness,
    })
}

// The parts of the API's answers the suite reads (infra/openapi.yaml).

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CategoryNode {
    category_id: String,
    product_count: u64,
    children: Vec<CategoryNode>,
}

#[derive(Debug, Deserialize)]
struct CategoryTree {
    categories: Vec<CategoryNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CategoryPage {
    products: Vec<ProductSummary>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductSummary {
    product_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductDetail {
    product_id: String,
    title: String,
    category_id: String,
    available: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cart {
    items: Vec<CartLine>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CartLine {
    product_id: String,
    quantity: i64,
    reserved: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlacedOrder {
    order_id: String,
    status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderDetail {
    order_id: String,
    status: String,
    lines: Vec<OrderLine>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderLine {
    product_id: String,
    quantity: i64,
}

#[derive(Debug, Deserialize)]
struct OrderPage {
    orders: Vec<OrderSummary>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderSummary {
    order_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchResults {
    products: Vec<SearchHit>,
    total_count: u64,
    degraded: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchHit {
    product_id: String,
    in_stock: bool,
}

/// The leaf categories that hold products, in the tree's order.
fn leaves(nodes: &[CategoryNode], into: &mut Vec<String>) {
    for node in nodes {
        if node.children.is_empty() {
            if node.product_count > 0 {
                into.push(node.category_id.clone());
            }
        } else {
            leaves(&node.children, into);
        }
    }
}

/// A word of `title` search can look for: its longest of letters only.
fn search_word(title: &str) -> Option<String> {
    shop_search::words(title)
        .into_iter()
        .filter(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic()))
        .max_by_key(String::len)
}

/// Ten random lowercase letters: a word no other product's title is near.
fn unique_word() -> String {
    let mut rng = rand::rng();
    (0..10).map(|_| char::from(rng.random_range(b'a'..=b'z'))).collect()
}

/// `text` as one URL path segment or query value (RFC 3986 unreserved
/// characters kept, every other byte `%XX`).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `cognito:groups` claim of a JWT, read without checking its signature
/// (the API checks that): only to say early that a token is not an admin's.
/// `None` if `token` is not a JWT.
fn token_groups(token: &str) -> Option<Vec<String>> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    Some(
        claims
            .get("cognito:groups")
            .and_then(Value::as_array)
            .map(|groups| groups.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
    )
}

/// `answer` if its status is `expected`, else the error that reports it.
fn expect(answer: Answer, method: Method, path: &str, expected: StatusCode) -> Result<Answer, ClientError> {
    if answer.status == expected {
        Ok(answer)
    } else {
        Err(ClientError::Status {
            method,
            path: path.to_owned(),
            answer: Box::new(answer),
        })
    }
}

fn decode<T: DeserializeOwned>(answer: &Answer, method: &Method, path: &str) -> anyhow::Result<T> {
    serde_json::from_value(answer.body.clone()).with_context(|| {
        format!(
            "{method} {path} answered {}, but its body is not as documented",
            answer.status
        )
    })
}

/// The run's state: what each step leaves for the next.
struct Run {
    api: ApiClient,
    anonymous: ApiClient,
    token: String,
    options: SmokeOptions,
    created: String,
    product: Option<ProductDetail>,
    line_added: bool,
    order: Option<String>,
    cancelled: bool,
    freshness: Option<Duration>,
}

impl Run {
    /// Sends a request as the signed-in user and expects `status`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        status: StatusCode,
    ) -> anyhow::Result<Answer> {
        let answer = self.api.send(method.clone(), path, body, &[]).await?;
        Ok(expect(answer, method, path, status)?)
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        status: StatusCode,
    ) -> anyhow::Result<T> {
        let answer = self.call(method.clone(), path, body, status).await?;
        decode(&answer, &method, path)
    }

    fn product(&self) -> anyhow::Result<&ProductDetail> {
        self.product.as_ref().context("no product was chosen")
    }

    fn order_id(&self) -> anyhow::Result<&str> {
        self.order.as_deref().context("no order was placed")
    }

    /// The tree, a leaf category's first page, and a product with two units
    /// available.
    async fn catalog(&mut self) -> anyhow::Result<()> {
        let tree: CategoryTree = self.call_json(Method::GET, "/categories", None, StatusCode::OK).await?;
        let mut leaf_ids = Vec::new();
        leaves(&tree.categories, &mut leaf_ids);
        ensure!(
            !leaf_ids.is_empty(),
            "GET /categories lists no leaf category with products: the catalog is empty (import one first, e.g. \
             `devstack import --demo`)"
        );
        for leaf in &leaf_ids {
            let path = format!("/categories/{leaf}/products?limit=24");
            let page: CategoryPage = self.call_json(Method::GET, &path, None, StatusCode::OK).await?;
            for summary in page.products {
                let path = format!("/products/{}", summary.product_id);
                let product: ProductDetail = self.call_json(Method::GET, &path, None, StatusCode::OK).await?;
                ensure!(
                    product.product_id == summary.product_id,
                    "GET {path} answered product {}",
                    product.product_id
                );
                if product.available >= 2 && search_word(&product.title).is_some() {
                    self.product = Some(product);
                    return Ok(());
                }
            }
        }
        bail!(
            "no product with two units available on the first page of any of {} leaf categories",
            leaf_ids.len()
        )
    }

    /// The token is accepted; no token is refused.
    async fn sign_in(&mut self) -> anyhow::Result<()> {
        if let Some(groups) = token_groups(&self.token) {
            ensure!(
                groups.iter().any(|g| g == shop_edge::http::ADMIN_GROUP),
                "the token's user is not in the {} group (its cognito:groups: {groups:?}), which the search step needs \
                 to create a product",
                shop_edge::http::ADMIN_GROUP
            );
        }
        self.call(Method::GET, "/cart", None, StatusCode::OK)
            .await
            .context("the token was not accepted")?;
        let answer = self.anonymous.send(Method::GET, "/cart", None, &[]).await?;
        expect(answer, Method::GET, "/cart (without a token)", StatusCode::UNAUTHORIZED)?;
        Ok(())
    }

    /// Add one unit, read the cart back, change the line to two units.
    async fn cart(&mut self) -> anyhow::Result<()> {
        let product_id = self.product()?.product_id.clone();
        // A run that failed half-way may have left lines: the order must
        // hold this run's product only.
        let before: Cart = self.call_json(Method::GET, "/cart", None, StatusCode::OK).await?;
        for line in before.items {
            let path = format!("/cart/items/{}", percent_encode(&line.product_id));
            self.call(Method::DELETE, &path, None, StatusCode::NO_CONTENT).await?;
        }
        let add = json!({ "productId": product_id, "quantity": 1 });
        let line: CartLine = self
            .call_json(Method::POST, "/cart/items", Some(&add), StatusCode::CREATED)
            .await?;
        self.line_added = true;
        ensure!(
            line.product_id == product_id && line.quantity == 1,
            "POST /cart/items answered a line of {} × {}, not {product_id} × 1",
            line.product_id,
            line.quantity
        );
        let cart: Cart = self.call_json(Method::GET, "/cart", None, StatusCode::OK).await?;
        match cart.items.as_slice() {
            [line] if line.product_id == product_id && line.quantity == 1 && line.reserved => {}
            lines => bail!("GET /cart after adding {product_id} × 1 shows {lines:?}"),
        }
        let path = format!("/cart/items/{}", percent_encode(&product_id));
        let line: CartLine = self
            .call_json(Method::PATCH, &path, Some(&json!({ "quantity": 2 })), StatusCode::OK)
            .await?;
        ensure!(
            line.quantity == 2,
            "PATCH {path} to 2 units answered a line of {}",
            line.quantity
        );
        Ok(())
    }

    /// Places the order, then sends the same request again: the same order
    /// comes back, replayed.
    async fn checkout(&mut self) -> anyhow::Result<()> {
        let key = format!("smoke-{}-{}", self.created, unique_word());
        let body = json!({
            "shippingAddress": {
                "name": "Smoke Test",
                "line1": "1 Main Street",
                "city": "Springfield",
                "postalCode": "12345",
                "country": "US",
            },
            "paymentMethodId": "pm_card_visa",
        });
        let headers = [("Idempotency-Key", key.as_str())];
        let answer = self.api.send(Method::POST, "/orders", Some(&body), &headers).await?;
        let first = expect(answer, Method::POST, "/orders", StatusCode::CREATED)?;
        let placed: PlacedOrder = decode(&first, &Method::POST, "/orders")?;
        self.order = Some(placed.order_id.clone());
        self.line_added = false;
        ensure!(
            placed.status == "confirmed",
            "POST /orders placed order {} with status {}",
            placed.order_id,
            placed.status
        );
        let answer = self.api.send(Method::POST, "/orders", Some(&body), &headers).await?;
        let again = expect(
            answer,
            Method::POST,
            "/orders (the same Idempotency-Key again)",
            StatusCode::CREATED,
        )?;
        let replayed = again.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok());
        ensure!(
            replayed == Some("true"),
            "POST /orders with the same Idempotency-Key again was not replayed (Idempotent-Replayed: {replayed:?})"
        );
        ensure!(
            again.body == first.body,
            "POST /orders replayed another answer: {} instead of {}",
            again.body,
            first.body
        );
        Ok(())
    }

    /// Reads the order, finds it in the list, and cancels it.
    async fn order(&mut self) -> anyhow::Result<()> {
        let order_id = self.order_id()?.to_owned();
        let product = self.product()?.product_id.clone();
        let path = format!("/orders/{order_id}");
        let order: OrderDetail = self.call_json(Method::GET, &path, None, StatusCode::OK).await?;
        ensure!(
            order.order_id == order_id,
            "GET {path} answered order {}",
            order.order_id
        );
        match order.lines.as_slice() {
            [line] if line.product_id == product && line.quantity == 2 => {}
            lines => bail!("GET {path}: the order holds {lines:?}, not {product} × 2"),
        }
        let page: OrderPage = self.call_json(Method::GET, "/orders", None, StatusCode::OK).await?;
        ensure!(
            page.orders.iter().any(|o| o.order_id == order_id),
            "GET /orders does not list {order_id} on its first page (newest first)"
        );
        let path = format!("/orders/{order_id}/cancel");
        let cancelled: OrderDetail = self.call_json(Method::POST, &path, None, StatusCode::OK).await?;
        self.cancelled = true;
        ensure!(
            cancelled.status == "cancelled",
            "POST {path} answered status {}",
            cancelled.status
        );
        Ok(())
    }

    /// A word of the product's title finds products; a product created now
    /// is found in stock within the freshness bound.
    async fn search(&mut self) -> anyhow::Result<()> {
        let product = self.product()?.clone();
        let word = search_word(&product.title).context("the product's title has no word to search for")?;
        let path = format!("/search?q={}&limit=5", percent_encode(&word));
        let results: SearchResults = self.call_json(Method::GET, &path, None, StatusCode::OK).await?;
        ensure!(
            !results.degraded,
            "GET {path} answered degraded: the search backend is down"
        );
        ensure!(
            results.total_count > 0 && !results.products.is_empty(),
            "GET {path} found nothing, though {} has {word:?} in its title",
            product.product_id
        );

        let word = unique_word();
        let created = self.created.clone();
        let put = json!({
            "title": format!("Smoke test probe {word}"),
            "description": "Created by `devstack smoke` to check that new products reach search; it is never in stock for long.",
            "brand": "Smoke",
            "categoryId": product.category_id,
            "price": { "amount": 100, "currency": "USD" },
        });
        let path = format!("/admin/products/{created}");
        let answer = self.api.send(Method::PUT, &path, Some(&put), &[]).await?;
        // 200 if a run in the same second created it already.
        if answer.status != StatusCode::OK {
            expect(answer, Method::PUT, &path, StatusCode::CREATED)?;
        }
        let stock_path = format!("/admin/products/{created}/stock");
        self.call(Method::PUT, &stock_path, Some(&json!({ "onHand": 5 })), StatusCode::OK)
            .await?;
        let started = Instant::now();
        let query = format!(
            "/search?q={word}&category={}&limit=20",
            percent_encode(&product.category_id)
        );
        let found = self.poll_search(&query, &created, started).await;
        // Nobody is to buy it, whether it was found or not.
        let emptied = self
            .call(Method::PUT, &stock_path, Some(&json!({ "onHand": 0 })), StatusCode::OK)
            .await;
        self.freshness = Some(found?);
        emptied.context("taking the created product's stock back to 0")?;
        Ok(())
    }

    /// Asks `query` until `created` is among its hits, in stock.
    async fn poll_search(&self, query: &str, created: &str, started: Instant) -> anyhow::Result<Duration> {
        let deadline = self.options.search_within;
        loop {
            let last = match self
                .call_json::<SearchResults>(Method::GET, query, None, StatusCode::OK)
                .await
            {
                Ok(results) => match results.products.iter().find(|hit| hit.product_id == created) {
                    Some(hit) if hit.in_stock => return Ok(started.elapsed()),
                    Some(_) => format!("{created} is found but not in stock"),
                    None => format!("{created} is not among its {} hits", results.total_count),
                },
                Err(e) => format!("{e:#}"),
            };
            if started.elapsed() >= deadline {
                return Err(anyhow!(
                    "the product {created} (created with stock) was not found in stock by GET {query} within {} s: \
                     {last}",
                    deadline.as_secs()
                ));
            }
            tokio::time::sleep(self.options.poll_every).await;
        }
    }

    /// After a failure: gives back what the run holds (its order, its cart
    /// line), as far as the API lets it.
    async fn clean_up(&mut self) {
        if let (Some(order), false) = (&self.order, self.cancelled) {
            let path = format!("/orders/{order}/cancel");
            if self.api.send(Method::POST, &path, None, &[]).await.is_ok() {
                self.cancelled = true;
            }
        }
        if let (Some(product), true) = (&self.product, self.line_added) {
            let path = format!("/cart/items/{}", percent_encode(&product.product_id));
            let _ = self.api.send(Method::DELETE, &path, None, &[]).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_print_as_one_line_each() {
        let ok = Step {
            name: StepName::SignIn,
            elapsed: Duration::from_millis(12),
            failure: None,
        };
        assert_eq!(ok.to_string(), "ok  sign-in (12 ms)");
        let failed = Step {
            name: StepName::Checkout,
            elapsed: Duration::from_millis(5),
            failure: Some("POST /orders answered 402 Payment Required: PAYMENT_FAILED: declined".into()),
        };
        assert_eq!(
            failed.to_string(),
            "FAIL checkout: POST /orders answered 402 Payment Required: PAYMENT_FAILED: declined"
        );
    }

    #[test]
    fn a_token_is_minted_only_for_a_local_stack() {
        let local = resolve_token("http://127.0.0.1:3000", None, "s3cret").unwrap();
        let claims = crate::token::verify("s3cret", &local).unwrap();
        assert_eq!(claims.groups, [shop_edge::http::ADMIN_GROUP]);
        assert_eq!(
            resolve_token(
                "https://x.execute-api.eu-west-1.amazonaws.com/dev",
                Some("t".into()),
                "s"
            )
            .unwrap(),
            "t"
        );
        let error = resolve_token("https://x.execute-api.eu-west-1.amazonaws.com/dev", None, "s").unwrap_err();
        assert!(error.to_string().contains("STOREFRONT_TOKEN"), "{error}");
    }

    #[test]
    fn a_tokens_groups_are_read_to_refuse_a_shoppers_token_early() {
        let admin = crate::token::mint("k", "a", &[shop_edge::http::ADMIN_GROUP], Duration::from_secs(60));
        assert_eq!(token_groups(&admin).unwrap(), [shop_edge::http::ADMIN_GROUP]);
        let shopper = crate::token::mint("k", "s", &[], Duration::from_secs(60));
        assert_eq!(token_groups(&shopper).unwrap(), Vec::<String>::new());
        assert_eq!(token_groups("not a jwt"), None);
    }

    #[test]
    fn the_search_word_is_the_titles_longest_word_of_letters() {
        assert_eq!(
            search_word("Ergonomix Wireless Filing Cabinet, Oak").as_deref(),
            Some("ergonomix")
        );
        assert_eq!(search_word("X1 42"), None);
        assert_eq!(percent_encode("a b&c"), "a%20b%26c");
    }

    #[test]
    fn only_leaves_with_products_are_browsed() {
        let tree: CategoryTree = serde_json::from_value(json!({ "categories": [
            { "categoryId": "a", "name": "A", "productCount": 3, "children": [
                { "categoryId": "a-x", "name": "X", "productCount": 0, "children": [] },
                { "categoryId": "a-y", "name": "Y", "productCount": 3, "children": [] },
            ]},
            { "categoryId": "b", "name": "B", "productCount": 0, "children": [] },
        ]}))
        .unwrap();
        let mut found = Vec::new();
        leaves(&tree.categories, &mut found);
        assert_eq!(found, ["a-y"]);
    }
}
