//! `cargo run --release -p bench -- <suite>`: benchmarks through the local
//! runner (`devstack`), each writing its figures to `bench/results/` and
//! exiting non-zero when a goal is missed.
//!
//! `stack`: start-up time of the local stack and product-detail latency
//! through the local gateway under concurrent clients, with the same reads
//! made straight against dynoxide in the same run as a baseline (the machine
//! is shared and noisy, so the ratio is the figure to compare).

mod cart;
mod checkout;
mod cost;
mod cpu;
mod flash_sale;
mod idle;
mod lambda;
mod scale;
mod search;

use devstack::{Stack, StackOptions, seed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shop_store::DynamoStore;
use shop_store::catalog::ProductReader;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The benchmarks.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "Benchmarks through the local runner; figures go to bench/results/")]
pub enum Suite {
    /// Start-up time and product-detail latency; writes bench/results/local-stack.md.
    Stack(BenchArgs),
    /// 1,000 shoppers racing for 100 units, several rounds, 1 and 4 shards;
    /// writes bench/results/flash-sale.md.
    FlashSale(flash_sale::FlashSaleArgs),
    /// Shoppers checking out at once, each with a double click: one order,
    /// one charge and one answer each; writes bench/results/checkout.md.
    Checkout(checkout::CheckoutArgs),
    /// Cart writes that succeed (add, change, remove) at 1, 10 and 100
    /// clients against bare dynoxide transactions of the same shape,
    /// checkouts, and the same writes again after 200,000 more; writes
    /// bench/results/cart.md.
    Cart(cart::CartArgs),
    /// Search latency on the seed catalog in a tantivy index (fuzzy text,
    /// filtered text, category browse), against PostgreSQL full-text search
    /// on the same products; writes bench/results/search.md.
    Search(search::SearchArgs),
    /// Every function as the Lambda rehearsal runs it: bootstrap size
    /// (stripped, zipped), init over ten cold starts, and the read routes'
    /// first and warm latencies against the in-process runner; writes
    /// bench/results/lambda.md.
    Lambda(lambda::LambdaArgs),
    /// The CPU the local stack (runner and moto) uses while nobody uses
    /// it; writes bench/results/idle.md.
    Idle(idle::IdleArgs),
    /// What each route and event worker asks of DynamoDB, SQS, Lambda and
    /// the search engine, in the metering rehearsal, over shopper sessions
    /// at the seed's peak proportions; writes bench/results/cost.md and
    /// cost.json.
    Cost(cost::CostArgs),
    /// The capacity and cost model at the seed's peaks, computed from
    /// bench/results/cost.json and AWS's prices and quotas; writes
    /// docs/scale.md.
    Scale(scale::ScaleArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    <Suite as clap::Parser>::parse().run().await
}

impl Suite {
    async fn run(self) -> anyhow::Result<()> {
        match self {
            Suite::Stack(args) => run(args).await,
            Suite::FlashSale(args) => flash_sale::run(args).await,
            Suite::Checkout(args) => checkout::run(args).await,
            Suite::Cart(args) => cart::run(args).await,
            Suite::Search(args) => search::run(args).await,
            Suite::Lambda(args) => lambda::run(args).await,
            Suite::Idle(args) => idle::run(args).await,
            Suite::Cost(args) => cost::run(args).await,
            Suite::Scale(args) => scale::run(args),
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Products in the benchmark catalog.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Requests per measurement.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Where the report goes.
    #[arg(long, default_value_os_t = devstack::project_root().join("bench/results/local-stack.md"))]
    pub out: PathBuf,
}

/// A report's heading: its title, the command that reproduces it, the
/// machine's core count and the time of the run.
fn heading(title: &str, command: &str) -> String {
    format!(
        "# {title}\n\n`cargo run --release -p bench -- {command}`, {} cores, {}.\n\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        shop_domain::time::format(shop_domain::time::Clock::default().now()),
    )
}

/// Sets the stock of the seeded products 1..=`products` to `on_hand`
/// through the admin API, from 20 clients, so that a benchmark's adds and
/// checkouts succeed (the seed leaves some products nearly sold out).
async fn restock(http: &reqwest::Client, stack: &Stack, products: usize, on_hand: i64) -> anyhow::Result<()> {
    use futures::{StreamExt, TryStreamExt};
    let admin = stack.token("bench-admin", true);
    futures::stream::iter(1..=products)
        .map(|n| {
            http.put(format!(
                "{}/admin/products/{}/stock",
                stack.api_url,
                seed::product_id(n)
            ))
            .bearer_auth(&admin)
            .json(&serde_json::json!({ "onHand": on_hand }))
            .send()
        })
        .buffer_unordered(20)
        .map(|sent| anyhow::Ok(sent?.error_for_status()?))
        .try_for_each(|_| async { Ok(()) })
        .await
}

/// A seeded Lambda rehearsal on a fresh scratch folder (its bootstraps
/// built into `code`, its instances' `/tmp` under `tmp`): the stack, the
/// bootstraps' folder and the scratch folder, for the caller to remove.
async fn rehearsal(
    bench: &str,
    products: usize,
    concurrency: usize,
    meter: bool,
) -> anyhow::Result<(Stack, PathBuf, PathBuf)> {
    let scratch = std::env::temp_dir().join(format!("storefront-bench-{bench}-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&scratch)?;
    let bootstraps = devstack::rehearsal::build_bootstraps(&scratch.join("code")).await?;
    let stack = Stack::start(StackOptions {
        sqs: true,
        seed_products: Some(products),
        lambda: Some(devstack::LambdaRehearsal {
            bootstraps: bootstraps.clone(),
            concurrency,
            scratch: scratch.join("tmp"),
            policies: None,
            meter,
        }),
        ..StackOptions::for_tests()
    })
    .await?;
    Ok((stack, bootstraps, scratch))
}

/// The longest a stack's event pipeline may take to catch up.
const DRAIN_LIMIT: Duration = Duration::from_secs(1800);

/// Waits until the stack's event pipeline has nothing left to do (twice in
/// a row, a second apart); answers how long that took.
async fn drain(stack: &Stack) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut drained_in_a_row = 0;
    while drained_in_a_row < 2 {
        anyhow::ensure!(
            started.elapsed() < DRAIN_LIMIT,
            "the event pipeline did not catch up within {DRAIN_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        drained_in_a_row = if stack.events_drained().await {
            drained_in_a_row + 1
        } else {
            0
        };
    }
    Ok(started.elapsed())
}

/// Ends a report with the goals it missed, or says that every one is met.
fn verdict(report: &mut String, misses: &[String]) {
    if misses.is_empty() {
        report.push_str("\nEvery goal is met.\n");
    } else {
        report.push_str("\nMissed:\n\n");
        for miss in misses {
            report.push_str(&format!("- {miss}\n"));
        }
    }
}

/// Writes the report to `out` (creating its folder) and prints it.
fn save(report: &str, out: &std::path::Path) -> anyhow::Result<()> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, report)?;
    println!("{report}");
    println!("written to {}", out.display());
    Ok(())
}

struct Latencies {
    sorted: Vec<Duration>,
    wall: Duration,
}

impl Latencies {
    fn new(mut sorted: Vec<Duration>, wall: Duration) -> Self {
        sorted.sort();
        Self { sorted, wall }
    }

    fn pct(&self, p: f64) -> f64 {
        let i = ((self.sorted.len() as f64 * p).ceil() as usize).clamp(1, self.sorted.len()) - 1;
        self.sorted[i].as_secs_f64() * 1000.0
    }

    fn count(&self) -> usize {
        self.sorted.len()
    }

    fn per_sec(&self) -> f64 {
        self.sorted.len() as f64 / self.wall.as_secs_f64()
    }

    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            self.per_sec(),
            self.pct(0.50),
            self.pct(0.90),
            self.pct(0.99),
            self.pct(1.0)
        )
    }
}

/// Runs `requests` calls of `call` from `clients` concurrent workers, each
/// asking for random seeded products.
async fn measure<F, Fut>(clients: usize, requests: usize, products: usize, call: F) -> anyhow::Result<Latencies>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let per_client = requests.div_ceil(clients);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut rng = ChaCha8Rng::seed_from_u64(c as u64);
                let mut times = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let n = rng.random_range(1..=products);
                    let t = Instant::now();
                    call(n).await?;
                    times.push(t.elapsed());
                }
                anyhow::Ok(times)
            })
        })
        .collect();
    let mut sorted = Vec::with_capacity(requests);
    for worker in workers {
        sorted.extend(worker.await??);
    }
    Ok(Latencies::new(sorted, started.elapsed()))
}

async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("storefront-bench-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir)?;
    let options = StackOptions {
        data_file: Some(dir.join("dynamodb.sqlite")),
        sqs: true,
        ..StackOptions::for_tests()
    };

    // 1. Start-up: an empty stack (tables and queues created from the template).
    let t = Instant::now();
    let mut stack = Stack::start(options.clone()).await?;
    let cold_start = t.elapsed();
    let t = Instant::now();
    stack.seed(args.products, true).await?;
    let seeding = t.elapsed();
    stack.stop().await?;
    // 2. Start-up with the data already there, as on every later run.
    let t = Instant::now();
    let stack = Stack::start(options).await?;
    let warm_start = t.elapsed();
    eprintln!("started in {cold_start:?} (empty) and {warm_start:?} (with data); seeded in {seeding:?}");

    // 3. Product detail through the gateway, and the same read straight from the store.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let api = stack.api_url.clone();
    let warmup = measure(args.clients, args.clients * 10, args.products, {
        let (http, api) = (http.clone(), api.clone());
        move |n| {
            let (http, api) = (http.clone(), api.clone());
            async move {
                http.get(format!("{api}/products/{}", seed::product_id(n)))
                    .send()
                    .await?
                    .error_for_status()?;
                Ok(())
            }
        }
    })
    .await?;
    drop(warmup);
    let through_api = measure(args.clients, args.requests, args.products, {
        let (http, api) = (http.clone(), api.clone());
        move |n| {
            let (http, api) = (http.clone(), api.clone());
            async move {
                let response = http
                    .get(format!("{api}/products/{}", seed::product_id(n)))
                    .send()
                    .await?;
                anyhow::ensure!(response.status() == 200, "status {}", response.status());
                response.bytes().await?;
                Ok(())
            }
        }
    })
    .await?;
    let catalog = std::sync::Arc::new(DynamoStore::new(stack.dynamodb.clone(), stack.table()));
    let direct = measure(args.clients, args.requests, args.products, {
        let catalog = catalog.clone();
        move |n| {
            let catalog = catalog.clone();
            async move {
                anyhow::ensure!(
                    catalog.product_with_stock(&seed::product_id(n)).await?.is_some(),
                    "missing product"
                );
                Ok(())
            }
        }
    })
    .await?;
    stack.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);

    let mut report = heading(
        "Local stack benchmark",
        &format!(
            "stack --products {} --clients {} --requests {}",
            args.products, args.clients, args.requests
        ),
    );
    writeln!(report, "## Start-up (after build)\n")?;
    writeln!(report, "| what | seconds |\n|---|---|")?;
    writeln!(
        report,
        "| start, empty (dynoxide, moto, tables and queues from template.yaml, gateway) | {:.2} |",
        cold_start.as_secs_f64()
    )?;
    writeln!(
        report,
        "| start with the catalog already there | {:.2} |",
        warm_start.as_secs_f64()
    )?;
    writeln!(
        report,
        "| seed {} products ({:.0} products/s) | {:.2} |\n",
        args.products,
        args.products as f64 / seeding.as_secs_f64(),
        seeding.as_secs_f64()
    )?;
    writeln!(report, "## Product detail, {} concurrent clients\n", args.clients)?;
    writeln!(
        report,
        "| path | requests/s | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|"
    )?;
    writeln!(
        report,
        "{}",
        through_api.row("`GET /products/{id}` through the local gateway")
    )?;
    writeln!(
        report,
        "{}",
        direct.row("the same Query straight to dynoxide (baseline)")
    )?;
    writeln!(
        report,
        "\nGateway + handler cost over the bare store read: p50 ×{:.2}, p99 ×{:.2}, throughput ×{:.2}.",
        through_api.pct(0.5) / direct.pct(0.5),
        through_api.pct(0.99) / direct.pct(0.99),
        through_api.per_sec() / direct.per_sec(),
    )?;
    save(&report, &args.out)
}
