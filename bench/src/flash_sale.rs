//! `cargo run --release -p bench -- flash-sale`: the flash sale through the local runner.
//! Each round creates a product with `units` in stock split over a number of
//! shards, then `buyers` distinct shoppers, all at once, each add one unit to
//! their cart. Afterwards the product's shards are read back from the table:
//! successes must equal the units reserved, and never exceed the stock.

use super::Latencies;
use anyhow::{Context, ensure};
use devstack::{Stack, StackOptions};
use serde_json::json;
use shop_domain::ids::ProductId;
use shop_domain::stock::{StockLevel, StockShard};
use shop_store::DynamoStore;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

#[derive(Debug, Clone, clap::Args)]
pub struct FlashSaleArgs {
    /// Shoppers racing for the product in each round.
    #[arg(long, default_value_t = 1_000)]
    pub buyers: usize,
    /// Units in stock at the start of each round.
    #[arg(long, default_value_t = 100)]
    pub units: i64,
    /// Rounds per configuration.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Where the report goes.
    #[arg(long, default_value_os_t = devstack::project_root().join("bench/results/flash-sale.md"))]
    pub out: PathBuf,
    /// Only this many shards (with `--conflicts`, the hot-product check of
    /// docs/scale.md): then no add may give up.
    #[arg(long)]
    pub shards: Option<u8>,
    /// The share of transactions cancelled with `TransactionConflict`, with
    /// `--shards`.
    #[arg(long, default_value_t = 0.0)]
    pub conflicts: f64,
}

/// One way of running the sale.
#[derive(Clone, Copy)]
struct Setup {
    shards: u8,
    /// Share of transactions cancelled with `TransactionConflict`.
    conflicts: f64,
}

const SETUPS: [Setup; 3] = [
    Setup {
        shards: 1,
        conflicts: 0.0,
    },
    Setup {
        shards: 4,
        conflicts: 0.0,
    },
    Setup {
        shards: 4,
        conflicts: 0.2,
    },
];

/// What one configuration's rounds added up to.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    wall: Duration,
    successes: Vec<usize>,
    refused: usize,
    other: usize,
    oversold: i64,
    broken_shards: usize,
    /// Rounds where the units reserved differ from the 201s answered.
    mismatched_rounds: usize,
    conflicts: u64,
    transactions: u64,
    /// The ledger audit over the whole table after the rounds.
    audit: Option<shop_orders::audit::AuditReport>,
}

pub async fn run(args: FlashSaleArgs) -> anyhow::Result<()> {
    ensure!(
        args.buyers > 0 && args.units > 0 && args.rounds > 0,
        "nothing to measure"
    );
    let mut report = super::heading(
        "Flash-sale benchmark",
        &format!(
            "flash-sale --buyers {} --units {} --rounds {}{}",
            args.buyers,
            args.units,
            args.rounds,
            args.shards
                .map(|s| format!(" --shards {s} --conflicts {}", args.conflicts))
                .unwrap_or_default()
        ),
    );
    writeln!(
        report,
        "Each round: a new product with {} units, then {} distinct shoppers send `POST /cart/items` \
         (1 unit) at the same moment through the local gateway. Afterwards the product's stock shards are \
         read from the table. *Oversold* counts units reserved beyond the stock (must be 0); *broken shards* \
         counts shard items where on-hand ≠ available + reserved + sold or a count is negative (must be 0).\n",
        args.units, args.buyers
    )?;
    writeln!(
        report,
        "| shards | injected conflicts | rounds | requests/s | p50 ms | p99 ms | max ms | successes per round | 409s | other | oversold | broken shards | reserved ≠ successes | audit discrepancies |"
    )?;
    writeln!(report, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    let mut audits = Vec::new();

    let mut failures = Vec::new();
    let setups = match args.shards {
        Some(shards) => vec![Setup {
            shards,
            conflicts: args.conflicts,
        }],
        None => SETUPS.to_vec(),
    };
    for setup in &setups {
        let mut tally = run_setup(&args, setup).await?;
        let audit = tally.audit.take().context("the audit ran")?;
        let latencies = Latencies::new(tally.latencies.clone(), tally.wall);
        let conflicts = if setup.conflicts > 0.0 {
            format!(
                "{:.0}% ({} of {} transactions)",
                setup.conflicts * 100.0,
                tally.conflicts,
                tally.transactions
            )
        } else {
            "none".to_owned()
        };
        writeln!(
            report,
            "| {} | {conflicts} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:?} | {} | {} | {} | {} | {} | {} |",
            setup.shards,
            args.rounds,
            latencies.per_sec(),
            latencies.pct(0.50),
            latencies.pct(0.99),
            latencies.pct(1.0),
            tally.successes,
            tally.refused,
            tally.other,
            tally.oversold,
            tally.broken_shards,
            tally.mismatched_rounds,
            audit.discrepancies.len(),
        )?;
        if tally.oversold > 0 || tally.broken_shards > 0 || tally.mismatched_rounds > 0 {
            failures.push(format!("{} shards: oversold or broken stock", setup.shards));
        }
        if !audit.is_clean() {
            failures.push(format!("{} shards: the ledger audit found discrepancies", setup.shards));
        }
        if args.shards.is_some() && tally.other > 0 {
            failures.push(format!(
                "{} shards, {:.1}% conflicts: {} adds gave up (the retry budget did not hold)",
                setup.shards,
                setup.conflicts * 100.0,
                tally.other
            ));
        }
        audits.push((setup, audit));
    }
    writeln!(
        report,
        "\nAfter each configuration's rounds, the ledger audit (`devstack audit`, `docs/ledger.md`) read the \
         whole table: every shard's counts, reserved against the cart lines, sold against the orders.\n"
    )?;
    for (setup, audit) in &audits {
        writeln!(
            report,
            "{} shard(s), {:.0}% injected conflicts:\n",
            setup.shards,
            setup.conflicts * 100.0
        )?;
        writeln!(report, "```text\n{audit}\n```\n")?;
    }
    writeln!(
        report,
        "\nrequests/s is all requests of a configuration over the time its rounds took; every round's \
         requests start together, so the figures include the queueing of {} simultaneous arrivals. \
         dynoxide applies one request at a time and has no per-item write limit, so here shards only \
         add work (a larger partition to read, reservations that span shards); in DynamoDB they lift the \
         limit of about 1,000 writes/s on one item. Conflicts are injected only while the shoppers race (not \
         while the product is set up), each cancelled transaction at random with the rate shown; each \
         costs a retry with jittered backoff, up to {} attempts, after which the add answers 503 (*other*); \
         the rows show that cost and that correctness does not depend on it.",
        args.buyers,
        shop_store::MAX_ATTEMPTS
    )?;

    super::verdict(&mut report, &failures);
    super::save(&report, &args.out)?;
    ensure!(failures.is_empty(), "the flash sale broke its guarantees: {failures:?}");
    Ok(())
}

async fn run_setup(args: &FlashSaleArgs, setup: &Setup) -> anyhow::Result<Tally> {
    let stack = Stack::start(StackOptions {
        seed_products: Some(0),
        transaction_conflicts: setup.conflicts,
        ..StackOptions::for_tests()
    })
    .await?;
    // The proxy is in place (a rate above 0 at the start); each round's sale
    // sets the rate.
    stack.faults.set_conflict_rate(0.0)?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.buyers).build()?;
    let store = DynamoStore::new(stack.dynamodb.clone(), stack.table());
    let admin = stack.token("bench-admin", true);
    let mut tally = Tally::default();
    for round in 0..args.rounds {
        let product = ProductId::parse(format!("FLASH{:02}{round:03}", setup.shards)).map_err(anyhow::Error::msg)?;
        let api = &stack.api_url;
        let put = |path: String, body: serde_json::Value| {
            http.put(format!("{api}{path}")).bearer_auth(&admin).json(&body).send()
        };
        put(
            format!("/admin/products/{product}"),
            json!({
                "title": format!("Flash sale item {round}"),
                "description": "Limited stock.",
                "brand": "Acme",
                "categoryId": "electronics-headphones",
                "price": { "amount": 4999, "currency": "USD" },
            }),
        )
        .await?
        .error_for_status()
        .context("creating the product")?;
        put(
            format!("/admin/products/{product}/stock"),
            json!({ "onHand": args.units, "shards": setup.shards }),
        )
        .await?
        .error_for_status()
        .context("setting its stock")?;

        // Only the shoppers' transactions race on the product in DynamoDB;
        // setting it up does not.
        stack.faults.set_conflict_rate(setup.conflicts)?;
        let tokens: Vec<String> = (0..args.buyers)
            .map(|b| stack.token(&format!("buyer-{round}-{b}"), false))
            .collect();
        let start = Arc::new(Barrier::new(args.buyers + 1));
        let buyers: Vec<_> = tokens
            .into_iter()
            .map(|token| {
                let (http, start) = (http.clone(), Arc::clone(&start));
                let url = format!("{api}/cart/items");
                let body = json!({ "productId": product, "quantity": 1 });
                tokio::spawn(async move {
                    start.wait().await;
                    let t = Instant::now();
                    let status = http.post(url).bearer_auth(token).json(&body).send().await?.status();
                    anyhow::Ok((status.as_u16(), t.elapsed()))
                })
            })
            .collect();
        start.wait().await;
        let began = Instant::now();
        let mut successes = 0;
        for buyer in buyers {
            let (status, latency) = buyer.await??;
            tally.latencies.push(latency);
            match status {
                201 => successes += 1,
                409 => tally.refused += 1,
                _ => tally.other += 1,
            }
        }
        tally.wall += began.elapsed();
        tally.successes.push(successes);
        stack.faults.set_conflict_rate(0.0)?;

        let (_, shards) = store
            .product_partition(&product)
            .await?
            .context("the product is gone")?;
        let level = StockLevel::of(&shards);
        tally.broken_shards += shards.iter().filter(|s| !StockShard::is_consistent(s)).count();
        tally.oversold += (level.reserved - args.units).max(0);
        if level.reserved != successes as i64 {
            tally.mismatched_rounds += 1;
        }
    }
    tally.conflicts = stack.faults.conflicts();
    tally.transactions = stack.faults.transactions();
    tally.audit = Some(devstack::RunningStack::of(&stack).audit().await?);
    stack.stop().await?;
    Ok(tally)
}
