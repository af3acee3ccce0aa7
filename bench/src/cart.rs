//! `cargo run --release -p bench -- cart`: the writes shoppers wait for,
//! on a stack that keeps running.
//!
//! Shoppers add, change and remove cart lines on many restocked products,
//! so that nearly every request succeeds and writes, at 1, 10 and 100
//! clients; next to them, bare dynoxide `TransactWriteItems` of the add's
//! shape (a header update, a line put, a stock shard update, each
//! conditional) at the same concurrency, in the same run. Then checkouts by
//! distinct shoppers. Then the growth check: the one-client add and the
//! product read again after 200,000 further writes of the add's shape.

use super::cpu::CpuMeter;
use super::{Latencies, drain, heading, save, verdict};
use anyhow::ensure;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use devstack::{Stack, StackOptions, seed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shop_domain::cart::{CartLine, LineToken, reservation_deadline};
use shop_domain::ids::{ProductId, UserId};
use shop_domain::money::{Currency, Money};
use shop_domain::stock::Allocation;
use shop_domain::time::Clock;
use shop_store::cart::line_item;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct CartArgs {
    /// Products in the catalog.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// Products the shoppers put in their carts (restocked first).
    #[arg(long, default_value_t = 2_000)]
    pub working_set: usize,
    /// Cart writes per concurrency level.
    #[arg(long, default_value_t = 3_000)]
    pub requests: usize,
    /// Checkouts per concurrency level.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Writes between the fresh measurement and the second one.
    #[arg(long, default_value_t = 200_000)]
    pub growth: usize,
    /// Seed of the shoppers' choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run the stack without its event pipeline (no moto, stream mapping,
    /// relay or workers): what the requests alone cost, to tell them apart
    /// from the work their events make.
    #[arg(long)]
    pub without_pipeline: bool,
    /// Where the report goes.
    #[arg(long, default_value_os_t = devstack::project_root().join("bench/results/cart.md"))]
    pub out: PathBuf,
}

/// Concurrent clients of each measurement, and its shoppers' name.
const LEVELS: [(usize, &str); 3] = [(1, "fresh-1"), (10, "fresh-10"), (100, "fresh-100")];
/// Successful add-to-cart throughput, at least this share of bare dynoxide
/// transactions of the same shape.
const THROUGHPUT_SHARE: f64 = 0.5;
/// One client's add p50, at most this many product reads' p50.
const ADD_OVER_READ: f64 = 6.0;
/// The add p50 after the growth writes, at most this many fresh ones.
const GROWTH: f64 = 1.3;
/// Units of each working-set product: more than any run takes.
const ON_HAND: i64 = 1_000_000;
/// Cart writes by one shopper before the next shopper takes over (a cart
/// holds at most 20 lines).
const OPS_PER_SHOPPER: usize = 12;

/// The shoppers' side: the API, tokens and products.
struct Shop {
    http: reqwest::Client,
    api: String,
    stack: Arc<Stack>,
    working_set: usize,
    run: ulid::Ulid,
}

impl Shop {
    fn product(&self, rng: &mut ChaCha8Rng) -> String {
        seed::product_id(rng.random_range(1..=self.working_set)).to_string()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        ensure!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&body));
        Ok(started.elapsed())
    }

    fn add(&self, token: &str, product: &str, quantity: i64) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/cart/items", self.api))
            .bearer_auth(token)
            .json(&serde_json::json!({ "productId": product, "quantity": quantity }))
    }

    /// One client's cart writes: a new shopper every few writes, each
    /// adding products it has not held, changing quantities and removing
    /// lines. Answers the successful writes' and the adds' latencies.
    async fn shoppers(
        &self,
        phase: &str,
        client: usize,
        writes: usize,
        seed: u64,
    ) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((client as u64) << 20));
        let (mut all, mut adds) = (Vec::with_capacity(writes), Vec::new());
        let mut shopper = 0;
        while all.len() < writes {
            let token = self
                .stack
                .token(&format!("cart-{}-{phase}-{client}-{shopper}", self.run), false);
            shopper += 1;
            let mut lines: Vec<String> = Vec::new();
            for _ in 0..OPS_PER_SHOPPER.min(writes - all.len()) {
                let roll: f64 = rng.random();
                let took = if lines.is_empty() || (roll < 0.5 && lines.len() < 8) {
                    let product = self.product(&mut rng);
                    if lines.contains(&product) {
                        continue;
                    }
                    let took = self.send(self.add(&token, &product, rng.random_range(1..=3))).await?;
                    lines.push(product);
                    adds.push(took);
                    took
                } else if roll < 0.8 {
                    let product = &lines[rng.random_range(0..lines.len())];
                    self.send(
                        self.http
                            .patch(format!("{}/cart/items/{product}", self.api))
                            .bearer_auth(&token)
                            .json(&serde_json::json!({ "quantity": rng.random_range(1..=5) })),
                    )
                    .await?
                } else {
                    let product = lines.swap_remove(rng.random_range(0..lines.len()));
                    self.send(
                        self.http
                            .delete(format!("{}/cart/items/{product}", self.api))
                            .bearer_auth(&token),
                    )
                    .await?
                };
                all.push(took);
            }
        }
        Ok((all, adds))
    }

    /// One client's checkouts, each by a new shopper with one line (added
    /// untimed); answers the checkouts' latencies.
    async fn checkouts(&self, client: usize, orders: usize, seed: u64) -> anyhow::Result<Vec<Duration>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((client as u64) << 40));
        let mut times = Vec::with_capacity(orders);
        for n in 0..orders {
            let token = self.stack.token(&format!("order-{}-{client}-{n}", self.run), false);
            self.send(self.add(&token, &self.product(&mut rng), 1)).await?;
            times.push(
                self.send(
                    self.http
                        .post(format!("{}/orders", self.api))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("{}-{client}-{n}", self.run))
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(super::checkout::order_body()),
                )
                .await?,
            );
        }
        Ok(times)
    }

    /// Product detail, one client.
    async fn reads(&self, requests: usize, seed: u64) -> anyhow::Result<Latencies> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let started = Instant::now();
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let product = self.product(&mut rng);
            times.push(
                self.send(self.http.get(format!("{}/products/{product}", self.api)))
                    .await?,
            );
        }
        Ok(Latencies::new(times, started.elapsed()))
    }
}

/// Runs `work(client)` on `clients` clients at once; answers each one's
/// result and the wall time.
async fn at_once<T, F, Fut>(clients: usize, work: F) -> anyhow::Result<(Vec<T>, Duration)>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients).map(|c| tokio::spawn(work(c))).collect();
    let mut results = Vec::with_capacity(clients);
    for task in tasks {
        results.push(task.await??);
    }
    Ok((results, started.elapsed()))
}

/// Bare dynoxide transactions of an add's shape on items of their own
/// (`BENCH#…`, which the relay ignores): a cart header counted up, a line
/// put (the item an add writes, with its GSI1 keys), a stock shard's units
/// moved, each conditional.
struct Bare {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    shards: usize,
    next: AtomicUsize,
}

impl Bare {
    async fn new(stack: &Stack, shards: usize) -> anyhow::Result<Self> {
        let bare = Self {
            dynamodb: stack.dynamodb.clone(),
            table: stack.table().to_owned(),
            shards,
            next: AtomicUsize::new(0),
        };
        for shard in 0..shards {
            bare.dynamodb
                .put_item()
                .table_name(&bare.table)
                .item("pk", s(format!("BENCH#STOCK#{shard}")))
                .item("sk", s("STOCK#0"))
                .item("available", n(i64::MAX / 2))
                .item("reserved", n(0))
                .send()
                .await?;
        }
        Ok(bare)
    }

    async fn write(&self) -> anyhow::Result<Duration> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let cart = format!("BENCH#CART#{i}");
        let header = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&cart))
            .key("sk", s("CART"))
            .update_expression("SET #lines = if_not_exists(#lines, :zero) + :one, #hold = :since")
            .condition_expression("attribute_not_exists(#lines) AND attribute_not_exists(#hold)")
            .expression_attribute_names("#lines", "lines")
            .expression_attribute_names("#hold", "hold#P0000001")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":since", s("2026-12-03T00:00:00.000Z"))
            .build()?;
        // The very item an add writes, GSI1 keys and all, so that dynoxide
        // maintains the same index entry.
        let shopper = UserId::parse(format!("bench-{i}")).expect("a valid user id");
        let now = Clock::default().now();
        let mut item = line_item(
            &shopper,
            &CartLine {
                product_id: ProductId::parse("P0000001").expect("a valid product id"),
                title: "A product of the benchmark, with a title of ordinary length".into(),
                unit_price: Money::new(1999, Currency::parse("USD").expect("a currency")),
                quantity: 1,
                reserved_until: reservation_deadline(now, now),
                held_since: now,
                taken: Allocation::from([(0, 1)]),
                token: LineToken::fresh(),
            },
        );
        item.insert("pk".into(), s(&cart));
        let line = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let shard = Update::builder()
            .table_name(&self.table)
            .key("pk", s(format!("BENCH#STOCK#{}", i % self.shards)))
            .key("sk", s("STOCK#0"))
            .update_expression("SET available = available - :units, reserved = reserved + :units ADD moves :one")
            .condition_expression("available >= :units")
            .expression_attribute_values(":units", n(1))
            .expression_attribute_values(":one", n(1))
            .build()?;
        let started = Instant::now();
        self.dynamodb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(header).build())
            .transact_items(TransactWriteItem::builder().put(line).build())
            .transact_items(TransactWriteItem::builder().update(shard).build())
            .send()
            .await?;
        Ok(started.elapsed())
    }

    /// `writes` transactions from `clients` clients at once.
    async fn run(self: &Arc<Self>, clients: usize, writes: usize) -> anyhow::Result<Latencies> {
        let per_client = writes.div_ceil(clients);
        let (results, wall) = at_once(clients, |_| {
            let bare = Arc::clone(self);
            async move {
                let mut times = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    times.push(bare.write().await?);
                }
                anyhow::Ok(times)
            }
        })
        .await?;
        Ok(Latencies::new(results.into_iter().flatten().collect(), wall))
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Cart writes from `clients` clients: all successful writes, and the adds.
/// Every phase has shoppers of its own, with empty carts.
async fn cart_writes(
    shop: &Arc<Shop>,
    phase: &'static str,
    clients: usize,
    writes: usize,
    seed: u64,
) -> anyhow::Result<(Latencies, Latencies)> {
    let per_client = writes.div_ceil(clients);
    let (results, wall) = at_once(clients, |c| {
        let shop = Arc::clone(shop);
        async move { shop.shoppers(phase, c, per_client, seed).await }
    })
    .await?;
    let (all, adds): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    Ok((
        Latencies::new(all.into_iter().flatten().collect(), wall),
        Latencies::new(adds.into_iter().flatten().collect(), wall),
    ))
}

pub async fn run(args: CartArgs) -> anyhow::Result<()> {
    ensure!(
        args.working_set <= args.products,
        "--working-set must not exceed --products"
    );
    let dir = std::env::temp_dir().join(format!("storefront-bench-cart-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir)?;
    eprintln!("seed {}", args.seed);
    // As `devstack up` runs: a data file, and the whole event pipeline.
    let stack = Arc::new(
        Stack::start(StackOptions {
            data_file: Some(dir.join("dynamodb.sqlite")),
            sqs: !args.without_pipeline,
            seed_products: Some(args.products),
            ..StackOptions::for_tests()
        })
        .await?,
    );
    let shop = Arc::new(Shop {
        http: reqwest::Client::builder().pool_max_idle_per_host(128).build()?,
        api: stack.api_url.clone(),
        stack: Arc::clone(&stack),
        working_set: args.working_set,
        run: ulid::Ulid::new(),
    });
    super::restock(&shop.http, &stack, args.working_set, ON_HAND).await?;
    let bare = Arc::new(Bare::new(&stack, args.working_set).await?);
    let mut misses = Vec::new();
    let mut report = heading(
        "Cart writes and checkouts, fresh and after growth",
        &format!(
            "cart --products {} --working-set {} --requests {} --orders {} --growth {} --seed {}{}",
            args.products,
            args.working_set,
            args.requests,
            args.orders,
            args.growth,
            args.seed,
            if args.without_pipeline {
                " --without-pipeline"
            } else {
                ""
            }
        ),
    );
    let stack_is = if args.without_pipeline {
        "**Without the event pipeline**: the local stack with a dynoxide file but no moto, stream \
         mapping, relay or workers, so the figures are what the requests alone cost (`devstack up` \
         always runs the pipeline);"
    } else {
        "The local stack as `devstack up` runs it (a dynoxide file, moto, the relay and the workers),"
    };
    writeln!(
        report,
        "{stack_is} seeded, with the working set restocked. Cart writes: shoppers adding products they \
         do not hold (half), changing quantities (three in ten) and removing lines (two in ten), a new \
         shopper every 12 writes; every one must succeed. Bare: dynoxide `TransactWriteItems` of an \
         add's shape (header update, line put, stock shard update, each conditional; the line is the \
         item an add writes, with its reservation index keys) through the SDK, same clients, same \
         run; an add through the gateway also reads the cart and the product first. Runner CPU and \
         moto CPU: each process's share of one core while the cart writes ran (the runner's \
         includes the benchmark's clients, which run in it).\n"
    )?;

    // Fresh.
    let read_fresh = shop.reads(args.requests, args.seed).await?;
    report.push_str(
        "| clients | cart writes/s | write p50 ms | write p99 ms | add p50 ms | add p99 ms | runner CPU | moto CPU | bare tx/s | bare p50 ms | writes/s ÷ bare tx/s |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let moto = stack.moto_pid();
    let mut add_fresh = None;
    for (clients, phase) in LEVELS {
        let meter = CpuMeter::start(moto)?;
        let (writes, adds) = cart_writes(&shop, phase, clients, args.requests, args.seed).await?;
        let cpu = meter.stop()?;
        let bare_run = bare.run(clients, args.requests).await?;
        let share = writes.per_sec() / bare_run.per_sec();
        if share < THROUGHPUT_SHARE {
            misses.push(format!(
                "{clients} clients: {:.0} cart writes/s are {share:.2} of bare transactions",
                writes.per_sec()
            ));
        }
        writeln!(
            report,
            "| {clients} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0}% | {:.0}% | {:.0} | {:.2} | {share:.2} |",
            writes.per_sec(),
            writes.pct(0.5),
            writes.pct(0.99),
            adds.pct(0.5),
            adds.pct(0.99),
            cpu.runner * 100.0,
            cpu.moto * 100.0,
            bare_run.per_sec(),
            bare_run.pct(0.5),
        )?;
        if clients == 1 {
            add_fresh = Some(adds);
        }
    }
    let add_fresh = add_fresh.expect("one client is measured");

    report.push_str(
        "\nCheckouts, each by a new shopper with one line (the add is untimed, but inside the wall \
         time of orders/s):\n\n| clients | orders/s | p50 ms | p99 ms |\n|---|---|---|---|\n",
    );
    for clients in [1, 10] {
        let per_client = args.orders.div_ceil(clients);
        let (times, wall) = at_once(clients, |c| {
            let shop = Arc::clone(&shop);
            async move { shop.checkouts(c, per_client, args.seed).await }
        })
        .await?;
        let orders = Latencies::new(times.into_iter().flatten().collect(), wall);
        writeln!(
            report,
            "| {clients} | {:.1} | {:.2} | {:.2} |",
            orders.per_sec(),
            orders.pct(0.5),
            orders.pct(0.99)
        )?;
    }

    // Growth.
    let records_before = stack.streams.len()?;
    let started = Instant::now();
    let growth = bare.run(10, args.growth).await?;
    eprintln!("{} growth writes in {:?}", growth.count(), started.elapsed());
    let records_after = stack.streams.len()?;
    // A stack that has been running has kept up with its events: let the
    // relay and the workers finish the growth writes' before measuring.
    let caught_up = drain(&stack).await?;
    let caught_up = if args.without_pipeline {
        "Nothing reads the stream here.".to_owned()
    } else {
        format!(
            "The relay and the workers finished their events {:.0} s after the last growth write; \
             the stack was measured again after that.",
            caught_up.as_secs_f64()
        )
    };
    let read_grown = shop.reads(args.requests, args.seed + 1).await?;
    let (_, add_grown) = cart_writes(&shop, "grown", 1, args.requests, args.seed + 1).await?;

    writeln!(
        report,
        "\nGrowth: {} further writes of the add's shape ({:.0}/s from 10 clients); dynoxide's stream \
         table held {records_before} records before them and {records_after} after (records older \
         than 24 hours are trimmed, as DynamoDB does; none are that old here). {caught_up}\n\n\
         | stack | product read p50 ms | add p50 ms (1 client) | add p99 ms | add ÷ read p50 |\n|---|---|---|---|---|",
        growth.count(),
        growth.per_sec(),
    )?;
    for (name, read, add) in [
        ("fresh", &read_fresh, &add_fresh),
        ("after growth", &read_grown, &add_grown),
    ] {
        let ratio = add.pct(0.5) / read.pct(0.5);
        if ratio > ADD_OVER_READ {
            misses.push(format!("{name}: add p50 is {ratio:.1}× the product read's"));
        }
        writeln!(
            report,
            "| {name} | {:.2} | {:.2} | {:.2} | {ratio:.1} |",
            read.pct(0.5),
            add.pct(0.5),
            add.pct(0.99)
        )?;
    }
    let grew = add_grown.pct(0.5) / add_fresh.pct(0.5);
    if grew > GROWTH {
        misses.push(format!("the add p50 after growth is {grew:.2}× the fresh one"));
    }
    writeln!(
        report,
        "\nAdd p50 after growth ÷ fresh: {grew:.2}.\n\nGoals: cart writes/s ≥ {THROUGHPUT_SHARE} × bare \
         transactions/s at every level; one client's add p50 ≤ {ADD_OVER_READ}× the product read's, \
         fresh and after growth; the add p50 after growth ≤ {GROWTH}× the fresh one."
    )?;
    verdict(&mut report, &misses);
    save(&report, &args.out)?;
    drop(shop);
    if let Ok(stack) = Arc::try_unwrap(stack) {
        stack.stop().await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    ensure!(misses.is_empty(), "{} goal(s) missed", misses.len());
    Ok(())
}
