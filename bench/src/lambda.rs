//! `bench lambda`: every function as the Lambda rehearsal runs it
//! (`devstack up --lambda`). Per function:
//!
//! - its bootstrap's size: as built, stripped, and zipped (deflate, as SAM
//!   zips it);
//! - its init over `--cold-starts` cold starts: the process's start to its
//!   first `/next`;
//! - for every route of the API (reads, and writes that succeed), the
//!   first invocation (a cold instance) and warm p50/p99
//!   through the rehearsal's gateway, against the in-process runner on the
//!   same routes in the same run (the machine is shared and noisy: the
//!   ratio is the figure to compare);
//! - for the functions without a route (queue, stream, WebSocket and
//!   schedule), the first invocation and warm p50/p99 of their event.
//!
//! Budgets: every zip ≤ 8 MB; every function's median init ≤ 50 ms; every
//! route's warm p99 within 2× of the in-process runner's.

use super::{Latencies, heading, save, verdict};
use devstack::{Stack, StackOptions, seed};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ZIP_BUDGET: u64 = 8 * 1024 * 1024;
const INIT_BUDGET: Duration = Duration::from_millis(50);
const WARM_RATIO_BUDGET: f64 = 2.0;
/// Units of each product for the write routes: more than they take.
const ON_HAND: i64 = 100_000;

#[derive(Debug, Clone, clap::Args)]
pub struct LambdaArgs {
    /// Cold starts per function.
    #[arg(long, default_value_t = 10)]
    pub cold_starts: usize,
    /// Warm requests per route, one at a time (enough for a p99 that is
    /// not the third-slowest of a few hundred).
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Products in the catalog.
    #[arg(long, default_value_t = 1_000)]
    pub products: usize,
    /// Where the report goes.
    #[arg(long, default_value_os_t = devstack::project_root().join("bench/results/lambda.md"))]
    pub out: PathBuf,
    /// Only the functions whose logical id contains this (for example
    /// `Cart`), to look into one of them quickly.
    #[arg(long)]
    pub only: Option<String>,
}

impl LambdaArgs {
    fn includes(&self, logical_id: &str) -> bool {
        self.only.as_deref().is_none_or(|only| logical_id.contains(only))
    }
}

/// A bootstrap's sizes in bytes.
struct Sizes {
    built: u64,
    stripped: u64,
    zipped: u64,
}

fn sizes(bootstrap: &Path, scratch: &Path) -> anyhow::Result<Sizes> {
    let built = std::fs::metadata(bootstrap)?.len();
    let copy = scratch.join("bootstrap");
    std::fs::copy(bootstrap, &copy)?;
    let status = std::process::Command::new("strip")
        .arg("--strip-all")
        .arg(&copy)
        .status()?;
    anyhow::ensure!(status.success(), "strip failed on {}", bootstrap.display());
    let stripped = std::fs::read(&copy)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)?;
    zip.write_all(&stripped)?;
    let zipped = zip.finish()?.into_inner().len() as u64;
    Ok(Sizes {
        built,
        stripped: stripped.len() as u64,
        zipped,
    })
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Who sends a route's requests.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// Nobody: a public read.
    Nobody,
    /// One shopper for every request.
    Same,
    /// A new shopper for each request (writes that must succeed: every
    /// add is a new line, every checkout a new order), the one its setup
    /// was made for.
    Fresh,
    /// The shop's admin.
    Admin,
}

/// What is made for the n-th request first, untimed, by a new shopper.
#[derive(Clone, PartialEq, Eq)]
enum Setup {
    Nothing,
    /// A line of [`cart_line`]'s product in their cart (for a checkout, a
    /// change or a removal).
    CartLine,
    /// An order of [`cart_line`]'s product; the request gets its id.
    Order,
    /// An order of this product (for a review: only buyers write them).
    Purchase(String),
    /// Another buyer's review of this product; the request gets its id.
    Review(String),
}

/// The n-th request's path, given the id its setup made.
type PathOf = Box<dyn Fn(usize, &str) -> String>;

/// A route as the benchmark calls it: who calls, what is made first, and
/// the n-th request's path (given the id the setup made) and body.
struct Route {
    function: &'static str,
    method: reqwest::Method,
    /// The path as the report names it.
    label: String,
    path: PathOf,
    caller: Caller,
    body: Option<Box<dyn Fn(usize) -> String>>,
    setup: Setup,
}

impl Route {
    fn read(function: &'static str, path: String, caller: Caller) -> Self {
        Self::new(function, reqwest::Method::GET, path.clone(), move |_, _| path.clone()).by(caller)
    }

    fn new(
        function: &'static str,
        method: reqwest::Method,
        label: impl Into<String>,
        path: impl Fn(usize, &str) -> String + 'static,
    ) -> Self {
        Self {
            function,
            method,
            label: label.into(),
            path: Box::new(path),
            caller: Caller::Nobody,
            body: None,
            setup: Setup::Nothing,
        }
    }

    fn by(self, caller: Caller) -> Self {
        Self { caller, ..self }
    }

    fn after(self, setup: Setup) -> Self {
        Self { setup, ..self }
    }

    fn sending(self, body: impl Fn(usize) -> String + 'static) -> Self {
        Self {
            body: Some(Box::new(body)),
            ..self
        }
    }
}

/// The n-th request's product: cycling through the catalog, so that no
/// product runs out.
fn nth_product(n: usize, products: usize) -> String {
    seed::product_id(1 + n % products).to_string()
}

/// One unit of the n-th product.
fn cart_line(n: usize, products: usize) -> String {
    serde_json::json!({ "productId": nth_product(n, products), "quantity": 1 }).to_string()
}

fn routes(products: usize) -> Vec<Route> {
    use reqwest::Method;
    let product = seed::product_id(products / 2).to_string();
    let title = seed::product(products / 2).0.title;
    // Two of its title's words, as a shopper would type them.
    let words: Vec<&str> = title
        .split([' ', ','])
        .filter(|w| w.len() > 2 && w.chars().all(char::is_alphabetic))
        .collect();
    let query = devstack::smoke::percent_encode(&words[..words.len().min(2)].join(" "));
    let typed = devstack::smoke::percent_encode(title.chars().take(6).collect::<String>().trim());
    let run = ulid::Ulid::new().to_string().to_lowercase();
    let review = |n: usize| {
        serde_json::json!({ "rating": 1 + n % 5, "title": "Does the job", "body": "Bought it, used it." }).to_string()
    };
    let on = {
        let product = product.clone();
        move |p: &str| format!("/products/{product}{p}")
    };
    vec![
        Route::read("GetProductFunction", on(""), Caller::Nobody),
        Route::read("ListCategoriesFunction", "/categories".into(), Caller::Nobody),
        Route::read(
            "BrowseCategoryFunction",
            "/categories/electronics-headphones/products?limit=20".into(),
            Caller::Nobody,
        ),
        Route::read("GetRecommendationsFunction", on("/recommendations"), Caller::Nobody),
        Route::read("SearchFunction", format!("/search?q={query}"), Caller::Nobody),
        Route::read(
            "SearchSuggestFunction",
            format!("/search/suggest?q={typed}"),
            Caller::Nobody,
        ),
        Route::read("GetCartFunction", "/cart".into(), Caller::Same),
        Route::read("ListOrdersFunction", "/orders".into(), Caller::Same),
        Route::read("ListReviewsFunction", on("/reviews"), Caller::Nobody),
        Route::new("AddCartItemFunction", Method::POST, "/cart/items", |_, _| {
            "/cart/items".into()
        })
        .by(Caller::Fresh)
        .sending(move |n| cart_line(n, products)),
        Route::new(
            "UpdateCartItemFunction",
            Method::PATCH,
            "/cart/items/{productId}",
            move |n, _| format!("/cart/items/{}", nth_product(n, products)),
        )
        .by(Caller::Fresh)
        .after(Setup::CartLine)
        .sending(|_| r#"{"quantity":2}"#.into()),
        Route::new(
            "RemoveCartItemFunction",
            Method::DELETE,
            "/cart/items/{productId}",
            move |n, _| format!("/cart/items/{}", nth_product(n, products)),
        )
        .by(Caller::Fresh)
        .after(Setup::CartLine),
        Route::new("PlaceOrderFunction", Method::POST, "/orders", |_, _| "/orders".into())
            .by(Caller::Fresh)
            .after(Setup::CartLine)
            .sending(|_| super::checkout::order_body()),
        Route::new("GetOrderFunction", Method::GET, "/orders/{orderId}", |_, order| {
            format!("/orders/{order}")
        })
        .by(Caller::Fresh)
        .after(Setup::Order),
        Route::new(
            "CancelOrderFunction",
            Method::POST,
            "/orders/{orderId}/cancel",
            |_, order| format!("/orders/{order}/cancel"),
        )
        .by(Caller::Fresh)
        .after(Setup::Order),
        Route::new(
            "SetOrderStatusFunction",
            Method::POST,
            "/admin/orders/{orderId}/status",
            |_, order| format!("/admin/orders/{order}/status"),
        )
        .by(Caller::Admin)
        .after(Setup::Order)
        .sending(|_| r#"{"status":"packed"}"#.into()),
        Route::new("WriteReviewFunction", Method::POST, on("/reviews"), {
            let path = on("/reviews");
            move |_, _| path.clone()
        })
        .by(Caller::Fresh)
        .after(Setup::Purchase(product.clone()))
        .sending(review),
        Route::new("VoteReviewFunction", Method::POST, on("/reviews/{reviewId}/helpful"), {
            let on = on.clone();
            move |_, review| on(&format!("/reviews/{review}/helpful"))
        })
        .by(Caller::Fresh)
        .after(Setup::Review(product.clone())),
        Route::new(
            "DeleteReviewFunction",
            Method::DELETE,
            format!("/admin/products/{product}/reviews/{{reviewId}}"),
            {
                let product = product.clone();
                move |_, review| format!("/admin/products/{product}/reviews/{review}")
            },
        )
        .by(Caller::Admin)
        .after(Setup::Review(product.clone())),
        Route::new(
            "PutCategoryFunction",
            Method::PUT,
            "/admin/categories/{categoryId}",
            move |n, _| format!("/admin/categories/bench-{run}-{n}"),
        )
        .by(Caller::Admin)
        .sending(|n| serde_json::json!({ "name": format!("Bench {n}"), "parentId": "electronics" }).to_string()),
        Route::new(
            "PutProductFunction",
            Method::PUT,
            "/admin/products/{productId}",
            move |n, _| format!("/admin/products/{}", nth_product(n, products)),
        )
        .by(Caller::Admin)
        .sending(move |n| {
            let (draft, _) = seed::product(1 + n % products);
            serde_json::json!({
                "title": draft.title,
                "description": draft.description,
                "brand": draft.brand,
                "categoryId": draft.category_id,
                "price": { "amount": 100 + n % 900, "currency": "USD" },
            })
            .to_string()
        }),
        Route::new(
            "PutStockFunction",
            Method::PUT,
            "/admin/products/{productId}/stock",
            move |n, _| format!("/admin/products/{}/stock", nth_product(n, products)),
        )
        .by(Caller::Admin)
        .sending(|_| serde_json::json!({ "onHand": ON_HAND }).to_string()),
    ]
}

/// On each stack, the first request's time, then `requests` more one at a
/// time, alternating between the stacks so that whatever else the machine
/// does lands on both alike; each must succeed. What the requests need is
/// made first, and the event pipelines are let catch up with it, so that
/// the requests are timed without the setup's events in the background.
async fn timed(
    http: &reqwest::Client,
    stacks: [&Stack; 2],
    route: &Route,
    requests: usize,
    products: usize,
) -> anyhow::Result<[(Duration, Latencies); 2]> {
    let run = ulid::Ulid::new();
    let shopper = |stack: &Stack, n: usize| stack.token(&format!("bench-{run}-{n}"), false);
    let mut made: [Vec<String>; 2] = Default::default();
    if route.setup != Setup::Nothing {
        for (i, stack) in stacks.iter().enumerate() {
            for n in 0..=requests {
                let author = stack.token(&format!("bench-{run}-{n}-author"), false);
                made[i].push(prepare(http, stack, &route.setup, [&shopper(stack, n), &author], n, products).await?);
            }
            super::drain(stack).await?;
        }
    }
    let call = async |i: usize, n: usize| -> anyhow::Result<Duration> {
        let stack = stacks[i];
        let token = match route.caller {
            Caller::Nobody => None,
            Caller::Same => Some(stack.token("bench-shopper", false)),
            Caller::Fresh => Some(shopper(stack, n)),
            Caller::Admin => Some(stack.token("bench-admin", true)),
        };
        let path = (route.path)(n, made[i].get(n).map_or("", String::as_str));
        let mut request = http.request(route.method.clone(), format!("{}{path}", stack.api_url));
        if let Some(token) = &token {
            request = request
                .bearer_auth(token)
                .header("Idempotency-Key", format!("{run}-{n}"));
        }
        if let Some(body) = &route.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body(n));
        }
        let started = Instant::now();
        request.send().await?.error_for_status()?.bytes().await?;
        Ok(started.elapsed())
    };
    let mut firsts = [Duration::ZERO; 2];
    let mut times: [Vec<Duration>; 2] = [Vec::with_capacity(requests), Vec::with_capacity(requests)];
    for (i, first) in firsts.iter_mut().enumerate() {
        *first = call(i, 0).await?;
    }
    for n in 1..=requests {
        for (i, times) in times.iter_mut().enumerate() {
            times.push(call(i, n).await?);
        }
    }
    // Each stack's own time, without the other's requests in between.
    let measured = |(first, times): (Duration, Vec<Duration>)| {
        let wall = times.iter().sum();
        (first, Latencies::new(times, wall))
    };
    let [rehearsal, in_process] = times;
    Ok([measured((firsts[0], rehearsal)), measured((firsts[1], in_process))])
}

/// Makes what the n-th request needs, as its shopper (or, for a review,
/// another buyer: its author); the id of what was made, if any.
async fn prepare(
    http: &reqwest::Client,
    stack: &Stack,
    setup: &Setup,
    [shopper, author]: [&str; 2],
    n: usize,
    products: usize,
) -> anyhow::Result<String> {
    Ok(match setup {
        Setup::Nothing => String::new(),
        Setup::CartLine => {
            add_line(http, stack, shopper, cart_line(n, products)).await?;
            String::new()
        }
        Setup::Order => buy(http, stack, shopper, cart_line(n, products)).await?,
        Setup::Purchase(product) => buy(http, stack, shopper, one_of(product)).await?,
        Setup::Review(product) => {
            buy(http, stack, author, one_of(product)).await?;
            let review = serde_json::json!({ "rating": 4, "title": "Good", "body": "As described." });
            let written: serde_json::Value = http
                .post(format!("{}/products/{product}/reviews", stack.api_url))
                .bearer_auth(author)
                .json(&review)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            id(&written, "reviewId")?
        }
    })
}

fn one_of(product: &str) -> String {
    serde_json::json!({ "productId": product, "quantity": 1 }).to_string()
}

fn id(answer: &serde_json::Value, field: &str) -> anyhow::Result<String> {
    answer[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {field} in {answer}"))
}

async fn add_line(http: &reqwest::Client, stack: &Stack, token: &str, line: String) -> anyhow::Result<()> {
    http.post(format!("{}/cart/items", stack.api_url))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(line)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Puts `line` in the shopper's cart and checks out; the order's id.
async fn buy(http: &reqwest::Client, stack: &Stack, token: &str, line: String) -> anyhow::Result<String> {
    add_line(http, stack, token, line).await?;
    let placed: serde_json::Value = http
        .post(format!("{}/orders", stack.api_url))
        .bearer_auth(token)
        .header("Idempotency-Key", ulid::Ulid::new().to_string())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(super::checkout::order_body())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    id(&placed, "orderId")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket as the storefront's page does and subscribes to a
/// product, so that the WebSocket API's function runs; the caller keeps
/// the connection open.
async fn watch(stack: &Stack, product: &str) -> anyhow::Result<Socket> {
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let mut request = stack.live_url.as_str().into_client_request()?;
    request.headers_mut().insert("origin", stack.web_url.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let subscribe = serde_json::json!({ "action": "subscribe", "productIds": [product] }).to_string();
    futures::SinkExt::send(&mut socket, Message::text(subscribe)).await?;
    Ok(socket)
}

/// Every function without a route of its own, by its event: the first
/// invocation the stack's own traffic caused (a cold start), then its
/// latest event again, `requests` times, warm. Replaying is what Lambda's
/// retries do, and these consumers are idempotent.
async fn events(stack: &Stack, args: &LambdaArgs, report: &mut String) -> anyhow::Result<()> {
    let requests = args.requests / 10;
    report.push_str(
        "\nThe functions without a route, by their event (no budget: the in-process runner has no \
         comparable path): the first invocation the stack's traffic caused (a cold start), then its \
         latest event replayed warm, one at a time.\n\n\
         | function | event | first ms | warm p50 ms | warm p99 ms |\n|---|---|---|---|---|\n",
    );
    for function in &stack.template.functions {
        let Some(pool) = stack.pools.get(&function.logical_id) else {
            continue;
        };
        if !function.routes.is_empty() || !args.includes(&function.logical_id) {
            continue;
        }
        let (kind, event) = if function.schedule.is_some() {
            ("schedule", serde_json::to_vec(&devstack::rehearsal::scheduled_event())?)
        } else {
            let kind = if function.queue_trigger.is_some() {
                "SQS"
            } else if function.stream_trigger.is_some() {
                "stream"
            } else {
                "WebSocket"
            };
            // With --only, the routes whose writes cause the event may be
            // left out: no wait then.
            let wait = Duration::from_secs(if args.only.is_some() { 0 } else { 60 });
            let Ok(last) = within(wait, || pool.stats().last_event).await else {
                anyhow::ensure!(args.only.is_some(), "{}: no event within {wait:?}", function.logical_id);
                writeln!(report, "| {} | {kind} | no event (--only) | | |", function.logical_id)?;
                continue;
            };
            (kind, last.to_vec())
        };
        // A schedule's run reads the whole ledger: fewer of them.
        let runs = if kind == "schedule" { requests.min(20) } else { requests };
        let mut times = Vec::with_capacity(runs);
        let started = Instant::now();
        for _ in 0..runs {
            let began = Instant::now();
            pool.invoke(event.clone()).await?;
            times.push(began.elapsed());
        }
        let warm = Latencies::new(times, started.elapsed());
        let first = pool.stats().first_invocation.map_or_else(|| "n/a".to_owned(), ms);
        writeln!(
            report,
            "| {} | {kind} | {first} | {:.2} | {:.2} |",
            function.logical_id,
            warm.pct(0.5),
            warm.pct(0.99)
        )?;
    }
    Ok(())
}

/// Polls `probe` until it gives something, for up to `wait`.
async fn within<T>(wait: Duration, probe: impl Fn() -> Option<T>) -> anyhow::Result<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return Ok(found);
        }
        anyhow::ensure!(started.elapsed() < wait, "nothing within {wait:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn run(args: LambdaArgs) -> anyhow::Result<()> {
    let (rehearsal, bootstraps, scratch) = super::rehearsal("lambda", args.products, 1, false).await?;
    // The same stack in process: the same event pipeline behind the writes.
    let in_process = Stack::start(StackOptions {
        sqs: true,
        // Search on the engine the rehearsal's search functions call.
        opensearch: true,
        seed_products: Some(args.products),
        ..StackOptions::for_tests()
    })
    .await?;
    let http = reqwest::Client::new();

    let mut misses = Vec::new();
    let mut report = heading(
        "Lambda rehearsal: size, cold start and latency per function",
        &format!(
            "lambda --cold-starts {} --requests {} --products {}{}",
            args.cold_starts,
            args.requests,
            args.products,
            args.only.as_ref().map(|o| format!(" --only {o}")).unwrap_or_default()
        ),
    );
    report.push_str(
        "Bootstraps as `scripts/lambda-build` makes them (release, LTO off, for this machine's \
         architecture; the deploy builds arm64 with full LTO, smaller). Init: the process's start to \
         its first `/next` on the runner's Runtime API. Budgets: zip ≤ 8 MB, median init ≤ 50 ms.\n\n",
    );
    report.push_str(
        "| function | built MB | stripped MB | zipped MB | init p50 ms | init max ms |\n|---|---|---|---|---|---|\n",
    );
    for function in rehearsal
        .template
        .functions
        .iter()
        .filter(|f| args.includes(&f.logical_id))
    {
        let sizes = sizes(&bootstraps.join(&function.binary).join("bootstrap"), &scratch)?;
        if sizes.zipped > ZIP_BUDGET {
            misses.push(format!(
                "{}: zipped {} MB > 8 MB",
                function.logical_id,
                mb(sizes.zipped)
            ));
        }
        let inits = match rehearsal.pools.get(&function.logical_id) {
            Some(pool) => {
                let mut inits = Vec::with_capacity(args.cold_starts);
                for _ in 0..args.cold_starts {
                    inits.push(pool.cold_start().await?);
                }
                inits.sort();
                Some(inits)
            }
            None => None,
        };
        let (p50, max) = match &inits {
            Some(inits) => {
                let p50 = inits[(inits.len() - 1) / 2];
                if p50 > INIT_BUDGET {
                    misses.push(format!("{}: init p50 {} ms > 50 ms", function.logical_id, ms(p50)));
                }
                (ms(p50), ms(*inits.last().expect("at least one cold start")))
            }
            // reindex-search: only CloudFormation invokes it.
            None => ("n/a".to_owned(), "n/a".to_owned()),
        };
        writeln!(
            report,
            "| {} | {} | {} | {} | {p50} | {max} |",
            function.binary,
            mb(sizes.built),
            mb(sizes.stripped),
            mb(sizes.zipped)
        )?;
    }

    report.push_str(
        "\nEvery route of the API through the gateway, one request at a time: the first (a cold \
         instance in the rehearsal), then warm. Writes that must succeed are made by a new shopper \
         each: every add reserves, every checkout places an order, every review is new, every vote \
         counts. What a request needs first is made untimed by that shopper: the cart line a change, \
         removal or checkout works on; the order a read, cancel or status change works on; the \
         purchase a review needs; another buyer's review a vote or deletion works on. Routes with such \
         a setup take a tenth as many requests. Both stacks search on OpenSearch (osmem-server), as \
         in AWS. The rehearsal's and the in-process \
         runner's requests alternate. Budget: warm p99 ≤ 2× the in-process runner's.\n\n\
         | route | first ms | warm p50 ms | warm p99 ms | in-process p50 ms | in-process p99 ms | p99 ratio |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let _page = watch(&rehearsal, seed::product_id(1).as_str()).await?;
    // Before the first write route, not the reads: restocking makes events.
    let mut restocked = false;
    for route in routes(args.products).into_iter().filter(|r| args.includes(r.function)) {
        if (route.method != reqwest::Method::GET || route.setup != Setup::Nothing) && !restocked {
            super::restock(&http, &rehearsal, args.products, ON_HAND).await?;
            super::restock(&http, &in_process, args.products, ON_HAND).await?;
            restocked = true;
        }
        // A setup is several writes and often a payment: a tenth as many.
        let requests = if route.setup != Setup::Nothing {
            args.requests / 10
        } else {
            args.requests
        };
        let [(first, warm), (_, local)] =
            timed(&http, [&rehearsal, &in_process], &route, requests, args.products).await?;
        let name = format!("{} {}", route.method, route.label);
        let ratio = warm.pct(0.99) / local.pct(0.99);
        if ratio > WARM_RATIO_BUDGET {
            misses.push(format!("{name}: warm p99 {ratio:.2}× the in-process runner's"));
        }
        writeln!(
            report,
            "| {name} ({}) | {} | {:.2} | {:.2} | {:.2} | {:.2} | {ratio:.2} |",
            route.function,
            ms(first),
            warm.pct(0.5),
            warm.pct(0.99),
            local.pct(0.5),
            local.pct(0.99)
        )?;
    }
    events(&rehearsal, &args, &mut report).await?;
    verdict(&mut report, &misses);
    save(&report, &args.out)?;
    rehearsal.stop().await?;
    in_process.stop().await?;
    let _ = std::fs::remove_dir_all(&scratch);
    anyhow::ensure!(misses.is_empty(), "{} budget(s) missed", misses.len());
    Ok(())
}
