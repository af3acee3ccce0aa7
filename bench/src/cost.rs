//! `bench cost`: what each API route and each event worker asks of AWS,
//! measured in the metering Lambda rehearsal ([`devstack::meter`]).
//!
//! Shoppers run whole sessions at the seed's peak proportions (100
//! searches and 10 adds to each checkout), with the browsing, product
//! pages, cart edits, cancels and reviews around them; the sweeper and the
//! reconciler run on their schedules meanwhile. After the event pipeline
//! has caught up, each function's DynamoDB units, SQS requests and
//! messages, search queries and index writes, and Lambda invocations and
//! time are written per invocation and per session to
//! `bench/results/cost.md`, and as data to `bench/results/cost.json`, which
//! `bench scale` turns into the capacity and cost model (`docs/scale.md`).

use super::{heading, save};
use devstack::meter::Usage;
use devstack::{Stack, seed};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct CostArgs {
    /// Shopper sessions (each ends in one order).
    #[arg(long, default_value_t = 40)]
    pub sessions: usize,
    /// Sessions at once.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Products in the catalog.
    #[arg(long, default_value_t = 1_000)]
    pub products: usize,
    /// The random seed of the sessions' choices (printed, to rerun a run).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the report goes; the data goes beside it, as `.json`.
    #[arg(long, default_value_os_t = devstack::project_root().join("bench/results/cost.md"))]
    pub out: PathBuf,
}

/// One session's requests, by operation: the seed's peaks (100K searches,
/// 10K adds and 1K checkouts a second) in proportion, and the rest of a
/// shopping visit as the storefront makes it (a product page also loads
/// the product's recommendations, and every other one its reviews).
pub const SESSION: &[(&str, u32)] = &[
    ("search", 100),
    ("suggest", 30),
    ("browse", 20),
    ("product", 40),
    ("recommendations", 40),
    ("reviews", 20),
    ("cart", 10),
    ("add", 10),
    ("change", 3),
    ("remove", 2),
    ("checkout", 1),
    ("orders", 1),
    ("order", 2),
];

/// Every tenth session cancels its order (the first of ten); every
/// twentieth writes a review of a product it bought (the sixth of twenty).
const CANCEL_EVERY: usize = 10;
const REVIEW_EVERY: usize = 20;

/// How session `index` ends after its checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Cancel,
    Review,
    Nothing,
}

fn end_of(index: usize) -> End {
    if index.is_multiple_of(CANCEL_EVERY) {
        End::Cancel
    } else if index % REVIEW_EVERY == 5 {
        End::Review
    } else {
        End::Nothing
    }
}

/// What the model needs to know of one function.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measured {
    /// `route`, `queue`, `stream`, `schedule` or `websocket`.
    pub kind: String,
    /// Its routes (`GET /search`), for the API's functions.
    pub routes: Vec<String>,
    pub memory_mb: u32,
    /// Seconds between runs, for the scheduled ones.
    pub schedule_seconds: Option<u64>,
    pub invocations: u64,
    /// Messages or stream records its invocations carried.
    pub records: u64,
    /// Milliseconds its instances spent on those invocations.
    pub busy_ms: f64,
    pub usage: Usage,
}

/// `bench/results/cost.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostData {
    pub command: String,
    pub measured_at: String,
    pub sessions: usize,
    /// Products in the catalog the sessions ran on.
    pub products: usize,
    pub cancels: usize,
    pub reviews: usize,
    /// Seconds the sessions and the pipeline's catch-up took (the span the
    /// scheduled functions ran in).
    pub seconds: f64,
    /// One session's requests, by operation.
    pub session: BTreeMap<String, u32>,
    /// By logical id.
    pub functions: BTreeMap<String, Measured>,
}

impl CostData {
    pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {} (run `bench cost` first): {e}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// A request a session makes.
#[derive(Debug, Clone)]
enum Step {
    Read(String),
    /// The session's order's page.
    Order,
    Add(usize),
    Change(usize),
    Remove(usize),
    Checkout,
    Cancel,
    Review(usize),
}

/// One session's steps in a random order that keeps its writes in theirs:
/// adds, then changes and removes of added lines, the checkout, then the
/// cancel or the review.
fn session_steps(rng: &mut ChaCha8Rng, products: usize, index: usize) -> Vec<Step> {
    let count = |op: &str| SESSION.iter().find(|(o, _)| *o == op).map_or(0, |(_, n)| *n as usize);
    let product = |rng: &mut ChaCha8Rng| rng.random_range(1..=products);
    let categories: Vec<_> = seed::categories()
        .into_iter()
        .filter(|c| c.parent_id.is_some())
        .collect();
    let mut reads = Vec::new();
    for _ in 0..count("search") {
        let title = seed::product(product(rng)).0.title;
        let words: Vec<&str> = title.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let query = words[1..words.len().min(3)].join(" ");
        reads.push(format!("/search?q={}", devstack::smoke::percent_encode(&query)));
    }
    for _ in 0..count("suggest") {
        let title = seed::product(product(rng)).0.title;
        let typed: String = title.chars().take(rng.random_range(3..=12)).collect();
        reads.push(format!(
            "/search/suggest?q={}",
            devstack::smoke::percent_encode(typed.trim())
        ));
    }
    for _ in 0..count("browse") {
        let category = &categories[rng.random_range(0..categories.len())];
        reads.push(format!("/categories/{}/products?limit=20", category.id));
    }
    for (op, path) in [
        ("product", ""),
        ("recommendations", "/recommendations"),
        ("reviews", "/reviews"),
    ] {
        for _ in 0..count(op) {
            reads.push(format!("/products/{}{path}", seed::product_id(product(rng))));
        }
    }
    for (op, path) in [("cart", "/cart"), ("orders", "/orders")] {
        reads.extend(std::iter::repeat_n(path.to_owned(), count(op)));
    }
    reads.shuffle(rng);

    let mut lines: Vec<usize> = Vec::new();
    while lines.len() < count("add") {
        let n = product(rng);
        if !lines.contains(&n) {
            lines.push(n);
        }
    }
    let mut writes: Vec<Step> = lines.iter().map(|n| Step::Add(*n)).collect();
    writes.extend(lines[..count("change")].iter().map(|n| Step::Change(*n)));
    writes.extend(
        lines[count("change")..count("change") + count("remove")]
            .iter()
            .map(|n| Step::Remove(*n)),
    );
    writes.push(Step::Checkout);
    writes.extend(std::iter::repeat_n(Step::Order, count("order")));
    match end_of(index) {
        End::Cancel => writes.push(Step::Cancel),
        End::Review => writes.push(Step::Review(*lines.last().expect("a session adds lines"))),
        End::Nothing => {}
    }

    let mut steps = Vec::with_capacity(reads.len() + writes.len());
    let (mut reads, mut writes) = (reads.into_iter().peekable(), writes.into_iter().peekable());
    while reads.peek().is_some() || writes.peek().is_some() {
        let (r, w) = (reads.len(), writes.len());
        let step = if rng.random_range(0..r + w) < w {
            writes.next()
        } else {
            reads.next().map(Step::Read)
        };
        steps.extend(step);
    }
    steps
}

/// Runs one session as shopper `index`; every request must succeed.
async fn run_session(
    http: &reqwest::Client,
    stack: &Stack,
    run: &str,
    index: usize,
    steps: Vec<Step>,
) -> anyhow::Result<()> {
    let token = stack.token(&format!("cost-{run}-{index}"), false);
    let api = &stack.api_url;
    let mut order: Option<String> = None;
    for step in steps {
        let request = match &step {
            Step::Order => http.get(format!(
                "{api}/orders/{}",
                order.as_deref().expect("the order's page comes after the checkout")
            )),
            Step::Read(path) => http.get(format!("{api}{path}")),
            Step::Add(n) => http
                .post(format!("{api}/cart/items"))
                .json(&json!({ "productId": seed::product_id(*n), "quantity": 1 })),
            Step::Change(n) => http
                .patch(format!("{api}/cart/items/{}", seed::product_id(*n)))
                .json(&json!({ "quantity": 2 })),
            Step::Remove(n) => http.delete(format!("{api}/cart/items/{}", seed::product_id(*n))),
            Step::Checkout => http
                .post(format!("{api}/orders"))
                .header("Idempotency-Key", format!("cost-{run}-{index}"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(super::checkout::order_body()),
            Step::Cancel => http.post(format!(
                "{api}/orders/{}/cancel",
                order.as_deref().expect("the cancel comes after the checkout")
            )),
            Step::Review(n) => http
                .post(format!("{api}/products/{}/reviews", seed::product_id(*n)))
                .json(&json!({ "rating": 4, "title": "Good value", "body": "Does what it says." })),
        };
        let answer = request.bearer_auth(&token).send().await?;
        let status = answer.status();
        let body = answer.bytes().await?;
        anyhow::ensure!(
            status.is_success(),
            "{step:?} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if matches!(step, Step::Checkout) {
            let placed: Value = serde_json::from_slice(&body)?;
            order = placed["orderId"].as_str().map(str::to_owned);
        }
    }
    Ok(())
}

fn kind(function: &devstack::template::FunctionSpec, websocket: bool) -> &'static str {
    if !function.routes.is_empty() {
        "route"
    } else if function.queue_trigger.is_some() {
        "queue"
    } else if function.stream_trigger.is_some() {
        "stream"
    } else if function.schedule.is_some() {
        "schedule"
    } else if websocket {
        "websocket"
    } else {
        "deploy"
    }
}

pub async fn run(args: CostArgs) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(rand::random);
    eprintln!("bench cost: seed {seed}");
    let (stack, _, scratch) = super::rehearsal("cost", args.products, args.clients, true).await?;
    let meter = stack.meter.clone().expect("the rehearsal meters");
    let http = reqwest::Client::new();

    // Enough stock for every add, then nothing counted of the setup.
    super::restock(&http, &stack, args.products, 1_000_000).await?;
    super::drain(&stack).await?;
    meter.take();
    let before: BTreeMap<String, devstack::rehearsal::Stats> = stack
        .pools
        .iter()
        .map(|(id, pool)| (id.clone(), pool.stats()))
        .collect();

    let run = ulid::Ulid::new().to_string();
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sessions: Vec<(usize, Vec<Step>)> = (0..args.sessions)
        .map(|i| (i, session_steps(&mut rng, args.products, i)))
        .collect();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(sessions.into_iter()));
    let mut clients = Vec::new();
    for _ in 0..args.clients {
        let (http, queue, run) = (http.clone(), queue.clone(), run.clone());
        let stack = &stack;
        clients.push(async move {
            loop {
                let next = queue.lock().expect("sessions lock").next();
                let Some((index, steps)) = next else { break };
                run_session(&http, stack, &run, index, steps).await?;
            }
            anyhow::Ok(())
        });
    }
    futures::future::try_join_all(clients).await?;
    super::drain(&stack).await?;
    // A schedule longer than the run (the hourly audit) runs once now, so
    // that its run is measured too.
    for function in stack.template.functions.iter().filter(|f| f.schedule.is_some()) {
        let pool = &stack.pools[&function.logical_id];
        let before_run = before.get(&function.logical_id).map_or(0, |s| s.invocations());
        if pool.stats().invocations() == before_run {
            pool.invoke(serde_json::to_vec(&devstack::rehearsal::scheduled_event())?)
                .await?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();

    let usage = meter.take();
    let sockets: std::collections::BTreeSet<&str> = stack
        .template
        .websockets
        .iter()
        .flat_map(|api| api.routes.values().map(String::as_str))
        .collect();
    let mut functions = BTreeMap::new();
    for function in &stack.template.functions {
        let Some(pool) = stack.pools.get(&function.logical_id) else {
            continue;
        };
        let (now, then) = (
            pool.stats(),
            before.get(&function.logical_id).cloned().unwrap_or_default(),
        );
        let invocations = now.invocations() - then.invocations();
        functions.insert(
            function.logical_id.clone(),
            Measured {
                kind: kind(function, sockets.contains(function.logical_id.as_str())).to_owned(),
                routes: function
                    .routes
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect(),
                memory_mb: function.memory_mb,
                schedule_seconds: function.schedule.map(|s| s.as_secs()),
                invocations,
                records: now.records - then.records,
                busy_ms: (now.busy - then.busy).as_secs_f64() * 1000.0,
                usage: usage.get(&function.logical_id).cloned().unwrap_or_default(),
            },
        );
    }
    let command = format!(
        "cost --sessions {} --clients {} --products {} --seed {seed}",
        args.sessions, args.clients, args.products
    );
    let data = CostData {
        command: command.clone(),
        measured_at: shop_domain::time::format(shop_domain::time::Clock::default().now()),
        sessions: args.sessions,
        products: args.products,
        cancels: (0..args.sessions).filter(|i| end_of(*i) == End::Cancel).count(),
        reviews: (0..args.sessions).filter(|i| end_of(*i) == End::Review).count(),
        seconds,
        session: SESSION.iter().map(|(op, n)| ((*op).to_owned(), *n)).collect(),
        functions,
    };
    save(&report(&data, &command)?, &args.out)?;
    std::fs::write(
        args.out.with_extension("json"),
        serde_json::to_string_pretty(&data)? + "\n",
    )?;
    stack.stop().await?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn report(data: &CostData, command: &str) -> anyhow::Result<String> {
    let mut out = heading(
        "What each function asks of AWS, per invocation and per session",
        command,
    );
    let session: Vec<String> = data.session.iter().map(|(op, n)| format!("{n} {op}")).collect();
    writeln!(
        out,
        "Measured in the metering Lambda rehearsal: {} shopper sessions, each `{}`; every {CANCEL_EVERY}th \
         cancels its order, every {REVIEW_EVERY}th reviews a product it bought ({} cancels, {} \
         reviews); the scheduled functions ran on their schedules during the {:.0} s of the run, and once at \
         its end when their schedule is longer (the hourly audit). DynamoDB units as dynoxide's `ConsumedCapacity` reports them (4 KB reads, eventually \
         consistent where the code asks so; 1 KB writes; transactions double; index writes included). \
         SQS: the functions' own requests (the event source mappings' polling is Lambda's, counted in the \
         model). Lambda time: the instances' time from delivery to answer, on this machine. The data is \
         in `cost.json` beside this file; `bench scale` turns it into `docs/scale.md`.\n",
        data.sessions,
        session.join(", "),
        data.cancels,
        data.reviews,
        data.seconds,
    )?;
    writeln!(
        out,
        "| function | kind | invocations | records | ms each | RCU each | WCU each | SQS requests each | messages each | searches each | index writes each | RCU per session | WCU per session |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )?;
    let sessions = data.sessions.max(1) as f64;
    for (id, f) in &data.functions {
        if f.invocations == 0 {
            continue;
        }
        let each = |v: f64| v / f.invocations as f64;
        let u = &f.usage;
        writeln!(
            out,
            "| {id} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            f.kind,
            f.invocations,
            f.records,
            each(f.busy_ms),
            each(u.read_units),
            each(u.write_units),
            each(u.sqs_requests as f64),
            each(u.sqs_messages as f64),
            each(u.search_queries as f64),
            each(u.search_writes as f64),
            u.read_units / sessions,
            u.write_units / sessions,
        )?;
    }
    let mut total = Usage::default();
    data.functions.values().for_each(|f| total.add(&f.usage));
    writeln!(
        out,
        "\nPer session, everything: {:.1} RCU, {:.1} WCU, {:.2} SQS requests ({:.2} messages), {:.1} search \
         queries, {:.2} index writes.",
        total.read_units / sessions,
        total.write_units / sessions,
        total.sqs_requests as f64 / sessions,
        total.sqs_messages as f64 / sessions,
        total.search_queries as f64 / sessions,
        total.search_writes as f64 / sessions,
    )?;
    Ok(out)
}
