//! `cargo run --release -p bench -- checkout`: many shoppers checking out at once, each with a
//! double click. Every shopper fills a cart, then all of them send
//! `POST /orders` at the same moment, twice each with the same
//! `Idempotency-Key` and body, retrying after `409 IDEMPOTENCY_KEY_IN_USE`.
//! Afterwards the orders, the simulated provider's charges and the stock
//! shards are read back from the table: one order and one charge per
//! shopper, the same answer to both clicks, and stock that adds up.

use super::Latencies;
use anyhow::{Context, ensure};
use aws_sdk_dynamodb::types::AttributeValue;
use devstack::{Stack, StackOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use shop_domain::ids::ProductId;
use shop_domain::stock::{StockLevel, StockShard};
use shop_payments::PaymentProvider;
use shop_store::DynamoStore;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

#[derive(Debug, Clone, clap::Args)]
pub struct CheckoutArgs {
    /// Shoppers checking out at the same moment, each with its own cart.
    #[arg(long, default_value_t = 200)]
    pub shoppers: usize,
    /// Different products in each cart (1–3 units of each).
    #[arg(long, default_value_t = 3)]
    pub lines: usize,
    /// Where the report goes.
    #[arg(long, default_value_os_t = devstack::project_root().join("bench/results/checkout.md"))]
    pub out: PathBuf,
}

/// Products in the benchmark's catalog.
const PRODUCTS: usize = 30;
/// Units in stock of each product: far more than the carts can take.
const ON_HAND: i64 = 100_000;
/// Requests one click sends at most before giving up.
const TRIES: u32 = 50;

type Item = HashMap<String, AttributeValue>;

fn product_id(n: usize) -> String {
    format!("CK{n:03}")
}

fn shopper(n: usize) -> String {
    format!("bench-shopper-{n}")
}

/// A shopper's cart: `lines` different products (1-based) and their
/// quantities, the same on every run.
fn cart_of(shopper: usize, lines: usize) -> Vec<(usize, i64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(shopper as u64);
    let products = rand::seq::index::sample(&mut rng, PRODUCTS, lines);
    products.into_iter().map(|p| (p + 1, rng.random_range(1..=3))).collect()
}

/// A checkout's body: an address and the simulated provider's card.
pub fn order_body() -> String {
    json!({
        "shippingAddress": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postalCode": "NW1 6XE",
            "country": "GB",
        },
        "paymentMethodId": "pm_card_visa",
    })
    .to_string()
}

/// What one request got back.
enum Outcome {
    Placed {
        replayed: bool,
        body: Vec<u8>,
    },
    InUse,
    /// Any other status, or the connection failing: what it was.
    Other(String),
}

struct Answer {
    latency: Duration,
    outcome: Outcome,
    /// Whether it was a transport error (the request is retried).
    transport: bool,
}

/// Sends one checkout request and reads its whole answer.
async fn send(http: &reqwest::Client, url: &str, token: &str, key: &str, body: &str) -> Answer {
    let t = Instant::now();
    let result = async {
        let response = http
            .post(url)
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await?;
        let status = response.status().as_u16();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        let bytes = response.bytes().await?.to_vec();
        Ok::<_, reqwest::Error>((status, replayed, bytes))
    }
    .await;
    let latency = t.elapsed();
    let (outcome, transport) = match result {
        Ok((201, replayed, body)) => (Outcome::Placed { replayed, body }, false),
        Ok((status, _, body)) => {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            if status == 409 && code == "IDEMPOTENCY_KEY_IN_USE" {
                (Outcome::InUse, false)
            } else {
                (Outcome::Other(format!("{status} {code}")), false)
            }
        }
        Err(e) => (Outcome::Other(format!("transport error: {e}")), true),
    };
    Answer {
        latency,
        outcome,
        transport,
    }
}

/// One click: the request, repeated with the same key and body after a
/// `409 IDEMPOTENCY_KEY_IN_USE` or a transport error until it gets a 201
/// (or another answer, or `TRIES` run out).
async fn click(http: &reqwest::Client, url: &str, token: &str, key: &str, body: &str, seed: u64) -> Vec<Answer> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut answers = Vec::new();
    for attempt in 0..TRIES {
        let answer = send(http, url, token, key, body).await;
        let retry = answer.transport || matches!(answer.outcome, Outcome::InUse);
        answers.push(answer);
        if !retry {
            break;
        }
        // 10–20 ms, doubling up to 160–320 ms, jittered so retries spread out.
        let base = 10u64 << attempt.min(4);
        tokio::time::sleep(Duration::from_millis(rng.random_range(base..=2 * base))).await;
    }
    answers
}

/// Every item whose `pk` starts with `prefix`: a consistent, paginated Scan.
async fn scan(stack: &Stack, prefix: &str) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = stack
            .dynamodb
            .scan()
            .table_name(stack.table())
            .consistent_read(true)
            .filter_expression("begins_with(pk, :prefix)")
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .with_context(|| format!("scanning {prefix} items"))?;
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

/// What the checkout phase and the table afterwards added up to.
#[derive(Default)]
struct Tally {
    requests: usize,
    replays: usize,
    in_use: usize,
    /// Answers other than 201 and 409 in-use, by kind.
    other: BTreeMap<String, usize>,
    /// Shoppers neither of whose clicks got a 201.
    unanswered: usize,
    differing: usize,
    orders: usize,
    duplicate_orders: usize,
    missing_orders: usize,
    double_charges: usize,
    /// Charges neither declined nor refunded.
    charges_kept: usize,
    /// Charges kept whose checkout made no order.
    orphan_charges: usize,
    broken_shards: usize,
    units_in_carts: i64,
    units_sold: i64,
    units_reserved: i64,
}

impl Tally {
    fn broken_invariants(&self) -> usize {
        self.broken_shards + usize::from(self.units_sold != self.units_in_carts)
    }
}

pub async fn run(args: CheckoutArgs) -> anyhow::Result<()> {
    let max_lines = PRODUCTS.min(shop_domain::cart::MAX_LINES_PER_CART);
    ensure!(
        args.shoppers > 0 && (1..=max_lines).contains(&args.lines),
        "need at least one shopper and 1 to {max_lines} lines"
    );
    let stack = Stack::start(StackOptions {
        seed_products: Some(0),
        ..StackOptions::for_tests()
    })
    .await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.shoppers * 2)
        .timeout(Duration::from_secs(60))
        .build()?;
    let api = stack.api_url.clone();

    // 1. The catalog: products with plenty of stock.
    let admin = stack.token("bench-admin", true);
    for n in 1..=PRODUCTS {
        let id = product_id(n);
        http.put(format!("{api}/admin/products/{id}"))
            .bearer_auth(&admin)
            .json(&json!({
                "title": format!("Checkout bench item {n}"),
                "description": "Plenty in stock.",
                "brand": "Acme",
                "categoryId": "electronics-headphones",
                "price": { "amount": 499 + (n as i64 * 737) % 15_000, "currency": "USD" },
            }))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("creating {id}"))?;
        http.put(format!("{api}/admin/products/{id}/stock"))
            .bearer_auth(&admin)
            .json(&json!({ "onHand": ON_HAND }))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("setting the stock of {id}"))?;
    }

    // 2. Every shopper fills a cart, all at once (not measured).
    let tokens: Vec<String> = (0..args.shoppers).map(|n| stack.token(&shopper(n), false)).collect();
    let fillers: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(n, token)| {
            let (http, token, url) = (http.clone(), token.clone(), format!("{api}/cart/items"));
            let cart = cart_of(n, args.lines);
            tokio::spawn(async move {
                for (product, quantity) in cart {
                    let response = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "productId": product_id(product), "quantity": quantity }))
                        .send()
                        .await?;
                    let status = response.status();
                    let body = response.text().await?;
                    ensure!(
                        status == 201,
                        "{} adding {}: {status} {body}",
                        shopper(n),
                        product_id(product)
                    );
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for filler in fillers {
        filler.await??;
    }
    let mut tally = Tally {
        units_in_carts: (0..args.shoppers)
            .flat_map(|n| cart_of(n, args.lines))
            .map(|(_, quantity)| quantity)
            .sum(),
        ..Tally::default()
    };

    // 3. Everyone checks out at the same moment, with a double click.
    let start = Arc::new(Barrier::new(args.shoppers + 1));
    let body = Arc::new(order_body());
    let checkouts: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(n, token)| {
            let (http, start, body) = (http.clone(), Arc::clone(&start), Arc::clone(&body));
            let url = format!("{api}/orders");
            let key = format!("bench-checkout-{n}");
            tokio::spawn(async move {
                start.wait().await;
                let seed = 2 * n as u64;
                let (first, second) = tokio::join!(
                    click(&http, &url, &token, &key, &body, seed),
                    click(&http, &url, &token, &key, &body, seed + 1),
                );
                first.into_iter().chain(second).collect::<Vec<Answer>>()
            })
        })
        .collect();
    start.wait().await;
    let began = Instant::now();
    let mut answers = Vec::with_capacity(args.shoppers);
    for checkout in checkouts {
        answers.push(checkout.await?);
    }
    let wall = began.elapsed();

    let mut latencies = Vec::new();
    for shopper_answers in &answers {
        let mut placed: Option<&[u8]> = None;
        for answer in shopper_answers {
            tally.requests += 1;
            latencies.push(answer.latency);
            match &answer.outcome {
                Outcome::Placed { replayed, body } => {
                    tally.replays += usize::from(*replayed);
                    match placed {
                        None => placed = Some(body),
                        Some(first) => tally.differing += usize::from(first != body.as_slice()),
                    }
                }
                Outcome::InUse => tally.in_use += 1,
                Outcome::Other(kind) => *tally.other.entry(kind.clone()).or_default() += 1,
            }
        }
        tally.unanswered += usize::from(placed.is_none());
    }
    let latencies = Latencies::new(latencies, wall);

    // 4. What the table says: orders, charges kept, stock.
    let mut orders_of: HashMap<String, usize> = HashMap::new();
    for order in scan(&stack, "ORDER#").await? {
        if text(&order, "sk") != Some("ORDER") {
            continue;
        }
        let user = text(&order, "userId").context("an order without userId")?.to_owned();
        *orders_of.entry(user).or_default() += 1;
        tally.orders += 1;
    }
    let mut charges_of: HashMap<String, usize> = HashMap::new();
    let store = DynamoStore::new(stack.dynamodb.clone(), stack.table());
    let provider = shop_payments::simulated::SimulatedProvider::new(store.clone());
    for payment in provider.list(time::OffsetDateTime::UNIX_EPOCH).await? {
        if payment.state != shop_domain::payment::PaymentState::Succeeded {
            continue;
        }
        tally.charges_kept += 1;
        // Every payment names the shopper whose checkout made it.
        match payment.tags {
            Some(tags) => *charges_of.entry(tags.user_id).or_default() += 1,
            None => tally.orphan_charges += 1,
        }
    }
    for n in 0..args.shoppers {
        let user = shopper(n);
        match orders_of.get(&user).copied().unwrap_or(0) {
            0 => tally.missing_orders += 1,
            orders => tally.duplicate_orders += orders - 1,
        }
        tally.double_charges += charges_of.get(&user).copied().unwrap_or(0).saturating_sub(1);
    }
    tally.double_charges += tally.orphan_charges;
    for n in 1..=PRODUCTS {
        let id = ProductId::parse(product_id(n)).map_err(anyhow::Error::msg)?;
        let (_, shards) = store
            .product_partition(&id)
            .await?
            .with_context(|| format!("{id} is gone"))?;
        tally.broken_shards += shards.iter().filter(|s| !StockShard::is_consistent(s)).count();
        tally.broken_shards += usize::from(shards.is_empty());
        let level = StockLevel::of(&shards);
        tally.units_sold += level.sold;
        tally.units_reserved += level.reserved;
    }
    let audit = devstack::RunningStack::of(&stack).audit().await?;
    stack.stop().await?;

    // 5. The report.
    let mut report = super::heading(
        "Checkout benchmark",
        &format!("checkout --shoppers {} --lines {}", args.shoppers, args.lines),
    );
    writeln!(
        report,
        "{} shoppers each fill a cart with {} different products (1–3 units each) out of {PRODUCTS}. Then, at \
         one moment, every shopper sends `POST /orders` twice at once with the same `Idempotency-Key` and body \
         (a double click); each click repeats its request (same key, same body, after a jittered pause of \
         10 ms doubling up to 320 ms, at most {TRIES} tries) after a `409 IDEMPOTENCY_KEY_IN_USE` or a transport \
         error, until it gets a 201. Latencies count every request, duplicates and retries included; orders/s \
         and requests/s are over the wall time of the checkout phase ({:.2} s). Afterwards the table is read: \
         orders per shopper (exactly one), charges kept per shopper (exactly one; a kept charge whose checkout \
         made no order counts as a double charge), the 201 bodies each shopper got (byte-identical) and every \
         stock shard (on-hand = available + reserved + sold, none negative, units sold = units in the carts).\n",
        args.shoppers,
        args.lines,
        wall.as_secs_f64(),
    )?;
    writeln!(
        report,
        "| shoppers | requests sent | orders/s | requests/s | p50 ms | p99 ms | max ms | replays | 409 in use | other answers | duplicate orders | missing orders | double charges | differing answers | stock invariant broken |"
    )?;
    writeln!(report, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    writeln!(
        report,
        "| {} | {} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |",
        args.shoppers,
        tally.requests,
        tally.orders as f64 / wall.as_secs_f64(),
        latencies.per_sec(),
        latencies.pct(0.50),
        latencies.pct(0.99),
        latencies.pct(1.0),
        tally.replays,
        tally.in_use,
        tally.other.values().sum::<usize>(),
        tally.duplicate_orders,
        tally.missing_orders,
        tally.double_charges,
        tally.differing,
        tally.broken_invariants(),
    )?;
    writeln!(
        report,
        "\nOrders {}, charges kept {}; units in the carts {}, sold {}, still reserved {}; shoppers left without \
         a 201: {}.",
        tally.orders,
        tally.charges_kept,
        tally.units_in_carts,
        tally.units_sold,
        tally.units_reserved,
        tally.unanswered
    )?;
    if !tally.other.is_empty() {
        writeln!(report, "\nOther answers:\n")?;
        for (kind, count) in &tally.other {
            writeln!(report, "- {count} × {kind}")?;
        }
    }
    writeln!(
        report,
        "\nThe client, the local gateway, the functions and dynoxide share the machine's cores (a shared, noisy \
         machine), and dynoxide applies one request at a time, so the figures measure the queueing of {} \
         simultaneous checkouts more than any one of them; the guarantees are the figures that must not move.",
        2 * args.shoppers
    )?;

    writeln!(
        report,
        "\nThe ledger audit (`devstack audit`, `docs/ledger.md`) over the whole table afterwards:\n\n```text\n{audit}\n```"
    )?;

    super::save(&report, &args.out)?;
    let broken = [
        ("duplicate orders", tally.duplicate_orders),
        ("missing orders", tally.missing_orders),
        ("double charges", tally.double_charges),
        ("differing answers", tally.differing),
        ("broken stock invariants", tally.broken_invariants()),
        ("shoppers without a 201", tally.unanswered),
        ("ledger discrepancies", audit.discrepancies.len()),
    ];
    let failures: Vec<_> = broken.iter().filter(|(_, n)| *n > 0).collect();
    ensure!(failures.is_empty(), "checkout broke its guarantees: {failures:?}");
    Ok(())
}
