//! `bench scale`: the capacity and cost model, computed from what `bench
//! cost` measured (`bench/results/cost.json`) and AWS's public prices and
//! default quotas (below, each with its source), written to
//! `docs/scale.md`. Nothing in the model is typed in by hand but the prices,
//! the quotas and the assumptions, each stated next to its source.

use super::cost::{CostData, Measured};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ScaleArgs {
    /// What `bench cost` measured.
    #[arg(long, default_value_os_t = devstack::project_root().join("bench/results/cost.json"))]
    pub data: PathBuf,
    /// Where the model goes.
    #[arg(long, default_value_os_t = devstack::project_root().join("docs/scale.md"))]
    pub out: PathBuf,
}

/// A figure the model uses, with where it comes from.
struct Figure {
    value: f64,
    what: &'static str,
    source: &'static str,
}

const fn figure(value: f64, what: &'static str, source: &'static str) -> Figure {
    Figure { value, what, source }
}

/// The region and the date the prices below were taken for.
const REGION: &str = "us-east-1 (N. Virginia)";
const PRICES_AS_OF: &str = "the list prices in force on 2026-12-05 as the project last recorded them; this \
    machine cannot reach aws.amazon.com, so re-read the linked pages before a budget depends on them";

const LAMBDA_GB_SECOND: Figure = figure(
    0.000_013_333_4,
    "Lambda, arm64, per GB-second (first 7.5 billion GB-s a month)",
    "https://aws.amazon.com/lambda/pricing/",
);
const LAMBDA_REQUEST: Figure = figure(
    0.20 / 1e6,
    "Lambda, per request",
    "https://aws.amazon.com/lambda/pricing/",
);
const DYNAMODB_WRITE_REQUEST: Figure = figure(
    0.625 / 1e6,
    "DynamoDB on-demand, per write request unit (Standard table class)",
    "https://aws.amazon.com/dynamodb/pricing/on-demand/",
);
const DYNAMODB_READ_REQUEST: Figure = figure(
    0.125 / 1e6,
    "DynamoDB on-demand, per read request unit",
    "https://aws.amazon.com/dynamodb/pricing/on-demand/",
);
const DYNAMODB_WCU_HOUR: Figure = figure(
    0.000_65,
    "DynamoDB provisioned, per WCU-hour",
    "https://aws.amazon.com/dynamodb/pricing/provisioned/",
);
const DYNAMODB_RCU_HOUR: Figure = figure(
    0.000_13,
    "DynamoDB provisioned, per RCU-hour",
    "https://aws.amazon.com/dynamodb/pricing/provisioned/",
);
const SQS_REQUEST: Figure = figure(
    0.50 / 1e6,
    "SQS, per request (the FIFO price, charged for every queue: an upper bound; standard is $0.40)",
    "https://aws.amazon.com/sqs/pricing/",
);
const REST_REQUEST: Figure = figure(
    3.50 / 1e6,
    "API Gateway REST API, per request (first 333 million a month; the month's figures use the lower \
     tiers beyond: $2.80, $2.38 and $1.51 a million after 333 million, 1 billion and 20 billion)",
    "https://aws.amazon.com/api-gateway/pricing/",
);
/// The REST API's price tiers beyond the first: (requests a month up to,
/// price per request).
const REST_TIERS: [(f64, f64); 3] = [(1e9, 2.80 / 1e6), (20e9, 2.38 / 1e6), (f64::INFINITY, 1.51 / 1e6)];

/// A month of `requests` to the REST API, tier by tier.
fn rest_month(requests: f64) -> f64 {
    let first = 333e6;
    let mut cost = requests.min(first) * REST_REQUEST.value;
    let mut below = first;
    for (up_to, price) in REST_TIERS {
        if requests > below {
            cost += (requests.min(up_to) - below) * price;
        }
        below = up_to;
    }
    cost
}

const WEBSOCKET_MESSAGE: Figure = figure(
    1.00 / 1e6,
    "API Gateway WebSocket, per message of up to 32 KB (first billion a month)",
    "https://aws.amazon.com/api-gateway/pricing/",
);
const WEBSOCKET_CONNECTION_MINUTE: Figure = figure(
    0.25 / 1e6,
    "API Gateway WebSocket, per connection-minute",
    "https://aws.amazon.com/api-gateway/pricing/",
);
const OPENSEARCH_NODE_HOUR: Figure = figure(
    0.669,
    "OpenSearch Service, r6g.2xlarge.search (8 vCPU, 64 GiB) on-demand, per hour",
    "https://aws.amazon.com/opensearch-service/pricing/",
);
const OPENSEARCH_STORAGE_GB_MONTH: Figure = figure(
    0.122,
    "OpenSearch Service, gp3 storage, per GB-month",
    "https://aws.amazon.com/opensearch-service/pricing/",
);

const LAMBDA_CONCURRENCY: Figure = figure(
    1_000.0,
    "Lambda concurrent executions per account and region (default; new accounts may start lower)",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
);
const API_THROTTLE: Figure = figure(
    10_000.0,
    "API Gateway requests per second per account and region, all APIs together (default; burst 5,000)",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
);
const TABLE_THROUGHPUT: Figure = figure(
    40_000.0,
    "DynamoDB on-demand throughput per table, read and write request units per second each (default \
     table-level quota)",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
);
const PARTITION_WCU: Figure = figure(
    1_000.0,
    "DynamoDB write units per second on one partition (and so on one item)",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html",
);
const PARTITION_RCU: Figure = figure(
    3_000.0,
    "DynamoDB read units per second on one partition",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html",
);
const PARTITION_GB: Figure = figure(
    10.0,
    "DynamoDB GB of data per partition",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.Partitions.html",
);
const WEBSOCKET_NEW_CONNECTIONS: Figure = figure(
    500.0,
    "API Gateway WebSocket new connections per second per account and region (default)",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
);
const OPENSEARCH_NODES: Figure = figure(
    80.0,
    "OpenSearch Service data nodes per domain (default; 200 on request)",
    "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/limits.html",
);

/// The seed's peaks and volumes.
const PEAK_CHECKOUTS: f64 = 1_000.0;
const PEAK_SEARCHES: f64 = 100_000.0;
const PEAK_ADDS: f64 = 10_000.0;
const ORDERS_PER_DAY: f64 = 1_000_000.0;
const PRODUCTS: f64 = 100_000_000.0;
const CONCURRENT_USERS: f64 = 500_000.0;
const SECONDS_PER_MONTH: f64 = 30.0 * 86_400.0;
const HOURS_PER_MONTH: f64 = 730.0;

// Assumptions the local stack cannot measure.
const WCU_PER_ADD_ON_SHARD: Figure = figure(
    2.0,
    "write units an add takes from its stock shard item: one transactional write of an item under 1 KB",
    "DynamoDB's transactional write cost (twice a standard write); the shard item is about 200 bytes \
     (docs/data-model.md)",
);
const PRODUCT_BYTES: Figure = figure(
    1_500.0,
    "bytes a product takes in the table: its item, its stock shard, its category index entry",
    "assumption from docs/data-model.md's items (titles and descriptions as in the seed catalog)",
);
const ORDER_BYTES: Figure = figure(
    3_000.0,
    "bytes an order keeps in the table: the order, its lines, its idempotency record, its payment",
    "assumption from docs/data-model.md's items",
);
const QUERY_MS_PER_MILLION: Figure = figure(
    0.93,
    "vCPU-milliseconds a fuzzy text query with facets takes per million products",
    "bench/results/search.md: tantivy p50 0.93 ms at 1,000,000 products on one core; the cost grows \
     with the matches, so linearly with the catalog",
);
const INDEX_MB_PER_MILLION: Figure = figure(
    307.0,
    "MB of search index per million products, replicas not counted",
    "bench/results/search.md: 153.5 MB per million in tantivy; twice that for OpenSearch's source and doc \
     values (assumption)",
);
const SEARCH_CPU_TARGET: Figure = figure(
    0.6,
    "the share of a search node's vCPUs the sizing plans to use at peak",
    "AWS's OpenSearch sizing guidance keeps CPU below 60 % on average \
     (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/sizing-domains.html)",
);
const CONFLICT_WINDOW_MS: Figure = figure(
    5.0,
    "milliseconds a transaction holds an item against other transactions (DynamoDB cancels a transaction \
     that meets one in progress on the same item with TransactionConflict)",
    "assumption: DynamoDB's single-digit-millisecond write latency \
     (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html, \"Transaction \
     conflict handling\"); measure it on a deployed stack before a sale",
);

/// Functions whose runs read the whole ledger, so that a run costs in
/// proportion to the catalog (the others' runs read what expired or
/// stalled, which the catalog's size does not change).
const READS_THE_LEDGER: &[&str] = &["AuditLedgerFunction"];

/// What something uses per session, per run or per second.
#[derive(Debug, Default, Clone, Copy)]
struct Rates {
    invocations: f64,
    /// Lambda seconds, and the same times the memory in GB.
    seconds: f64,
    gb_seconds: f64,
    read_units: f64,
    write_units: f64,
    sqs_requests: f64,
    sqs_messages: f64,
    search_queries: f64,
    index_writes: f64,
    api_requests: f64,
}

impl Rates {
    /// `f`'s measured use divided by `divisor` (sessions, or runs). A queue
    /// worker's event source mapping makes two requests a batch (receive,
    /// delete); DynamoDB Streams' reads for Lambda are free.
    fn of(f: &Measured, divisor: f64) -> Self {
        let u = &f.usage;
        let invocations = f.invocations as f64 / divisor;
        let polling = if f.kind == "queue" { 2.0 * invocations } else { 0.0 };
        Rates {
            invocations,
            seconds: f.busy_ms / 1000.0 / divisor,
            gb_seconds: f.busy_ms / 1000.0 * f64::from(f.memory_mb) / 1024.0 / divisor,
            read_units: u.read_units / divisor,
            write_units: u.write_units / divisor,
            sqs_requests: u.sqs_requests as f64 / divisor + polling,
            sqs_messages: u.sqs_messages as f64 / divisor,
            search_queries: u.search_queries as f64 / divisor,
            index_writes: u.search_writes as f64 / divisor,
            api_requests: if f.kind == "route" { invocations } else { 0.0 },
        }
    }

    fn add(&mut self, o: &Rates) {
        self.invocations += o.invocations;
        self.seconds += o.seconds;
        self.gb_seconds += o.gb_seconds;
        self.read_units += o.read_units;
        self.write_units += o.write_units;
        self.sqs_requests += o.sqs_requests;
        self.sqs_messages += o.sqs_messages;
        self.search_queries += o.search_queries;
        self.index_writes += o.index_writes;
        self.api_requests += o.api_requests;
    }

    fn times(&self, k: f64) -> Rates {
        Rates {
            invocations: self.invocations * k,
            seconds: self.seconds * k,
            gb_seconds: self.gb_seconds * k,
            read_units: self.read_units * k,
            write_units: self.write_units * k,
            sqs_requests: self.sqs_requests * k,
            sqs_messages: self.sqs_messages * k,
            search_queries: self.search_queries * k,
            index_writes: self.index_writes * k,
            api_requests: self.api_requests * k,
        }
    }

    /// What this use costs at the on-demand prices, by service.
    fn cost(&self) -> Costs {
        Costs {
            lambda: self.gb_seconds * LAMBDA_GB_SECOND.value + self.invocations * LAMBDA_REQUEST.value,
            dynamodb: self.read_units * DYNAMODB_READ_REQUEST.value + self.write_units * DYNAMODB_WRITE_REQUEST.value,
            sqs: self.sqs_requests * SQS_REQUEST.value,
            api: self.api_requests * REST_REQUEST.value,
            websocket: 0.0,
            search: 0.0,
        }
    }
}

/// Dollars, by service.
#[derive(Debug, Default, Clone, Copy)]
struct Costs {
    lambda: f64,
    dynamodb: f64,
    sqs: f64,
    api: f64,
    websocket: f64,
    search: f64,
}

impl Costs {
    fn total(&self) -> f64 {
        self.lambda + self.dynamodb + self.sqs + self.api + self.websocket + self.search
    }

    fn plus(self, o: Costs) -> Costs {
        Costs {
            lambda: self.lambda + o.lambda,
            dynamodb: self.dynamodb + o.dynamodb,
            sqs: self.sqs + o.sqs,
            api: self.api + o.api,
            websocket: self.websocket + o.websocket,
            search: self.search + o.search,
        }
    }
}

/// The search cluster a query rate needs.
struct Cluster {
    vcpus: f64,
    nodes: f64,
    storage_gb: f64,
}

impl Cluster {
    const VCPUS_PER_NODE: f64 = 8.0;
    /// Two copies of every shard, on at least three nodes (three zones).
    const COPIES: f64 = 2.0;
    const MIN_NODES: f64 = 3.0;

    fn for_rate(queries_per_second: f64) -> Self {
        Self::for_rate_matching(queries_per_second, PRODUCTS)
    }

    /// The cluster for the catalog, with each query costing what it costs
    /// on a catalog of `matching` products (the bound below the linear
    /// model: queries that match no more products than on a smaller one).
    fn for_rate_matching(queries_per_second: f64, matching: f64) -> Self {
        let vcpus =
            queries_per_second * QUERY_MS_PER_MILLION.value * (matching / 1e6) / 1000.0 / SEARCH_CPU_TARGET.value;
        let storage_gb = INDEX_MB_PER_MILLION.value * (PRODUCTS / 1e6) / 1024.0 * Self::COPIES;
        Cluster {
            vcpus,
            nodes: (vcpus / Self::VCPUS_PER_NODE).ceil().max(Self::MIN_NODES),
            storage_gb,
        }
    }

    fn cost_per_hour(&self) -> f64 {
        self.nodes * OPENSEARCH_NODE_HOUR.value + self.storage_gb * OPENSEARCH_STORAGE_GB_MONTH.value / HOURS_PER_MONTH
    }
}

/// The table's stored GB after a year of orders.
fn table_gb() -> f64 {
    (PRODUCTS * PRODUCT_BYTES.value + ORDERS_PER_DAY * 365.0 * ORDER_BYTES.value) / 1e9
}

fn partitions(read_units: f64, write_units: f64) -> f64 {
    (read_units / PARTITION_RCU.value + write_units / PARTITION_WCU.value)
        .ceil()
        .max((table_gb() / PARTITION_GB.value).ceil())
}

/// The model: per session from the measurements, then at each level.
struct Model {
    data: CostData,
    per_session: Rates,
    /// The scheduled functions' use in a month.
    scheduled_month: Rates,
    /// WebSocket messages per session (a subscribe for each page with live
    /// data, and at least one update back).
    websocket_messages: f64,
}

impl Model {
    fn new(data: CostData) -> anyhow::Result<Self> {
        anyhow::ensure!(data.sessions > 0, "the measurement has no sessions");
        let sessions = data.sessions as f64;
        let mut per_session = Rates::default();
        let mut scheduled_month = Rates::default();
        for (id, f) in &data.functions {
            if f.kind == "schedule" {
                let runs = f.invocations.max(1) as f64;
                let mut run = Rates::of(f, runs);
                if READS_THE_LEDGER.contains(&id.as_str()) {
                    let k = PRODUCTS / data.products as f64;
                    run.read_units *= k;
                    run.seconds *= k;
                    run.gb_seconds *= k;
                }
                let per_month = SECONDS_PER_MONTH / f.schedule_seconds.unwrap_or(60) as f64;
                scheduled_month.add(&run.times(per_month));
            } else {
                per_session.add(&Rates::of(f, sessions));
            }
        }
        let pages = |op: &str| f64::from(data.session.get(op).copied().unwrap_or(0));
        let websocket_messages = 2.0 * (pages("product") + pages("order"));
        Ok(Model {
            data,
            per_session,
            scheduled_month,
            websocket_messages,
        })
    }

    /// The seed's peak is `PEAK_CHECKOUTS` sessions a second (each ends in
    /// one checkout).
    fn checks(&self) -> Vec<String> {
        let pages = |op: &str| f64::from(self.data.session.get(op).copied().unwrap_or(0));
        let mut notes = Vec::new();
        for (op, peak) in [
            ("search", PEAK_SEARCHES),
            ("add", PEAK_ADDS),
            ("checkout", PEAK_CHECKOUTS),
        ] {
            let modelled = pages(op) * PEAK_CHECKOUTS;
            if (modelled - peak).abs() > peak * 0.01 {
                notes.push(format!(
                    "the session's {op} count gives {modelled:.0}/s at the peak, not the seed's {peak:.0}/s"
                ));
            }
        }
        notes
    }

    /// Per hour at `sessions_per_second`, with the search cluster sized for
    /// that rate.
    fn hour(&self, sessions_per_second: f64) -> (Rates, Costs, Cluster) {
        let per_second = self.per_session.times(sessions_per_second);
        let mut costs = per_second.times(3600.0).cost();
        let connections = CONCURRENT_USERS * sessions_per_second / PEAK_CHECKOUTS;
        costs.websocket = self.websocket_messages * sessions_per_second * 3600.0 * WEBSOCKET_MESSAGE.value
            + connections * 60.0 * WEBSOCKET_CONNECTION_MINUTE.value;
        let cluster = Cluster::for_rate(per_second.search_queries);
        costs.search = cluster.cost_per_hour();
        (per_second, costs, cluster)
    }

    /// The peak's search cluster if a query cost what it costs on the 1M
    /// products of `bench search` (the bound below the linear model).
    fn search_lower_bound(&self) -> Cluster {
        Cluster::for_rate_matching(self.per_session.search_queries * PEAK_CHECKOUTS, 1e6)
    }

    /// A month of `ORDERS_PER_DAY`, with the search cluster sized for the
    /// peak and running all month.
    fn month(&self) -> Costs {
        let sessions = ORDERS_PER_DAY * 30.0;
        let mut costs = self
            .per_session
            .times(sessions)
            .cost()
            .plus(self.scheduled_month.cost());
        costs.api = rest_month(self.per_session.api_requests * sessions);
        let average_rate = ORDERS_PER_DAY / 86_400.0;
        let connections = CONCURRENT_USERS * average_rate / PEAK_CHECKOUTS;
        costs.websocket = self.websocket_messages * sessions * WEBSOCKET_MESSAGE.value
            + connections * SECONDS_PER_MONTH / 60.0 * WEBSOCKET_CONNECTION_MINUTE.value;
        costs.search =
            Cluster::for_rate(self.per_session.search_queries * PEAK_CHECKOUTS).cost_per_hour() * HOURS_PER_MONTH;
        costs
    }
}

/// A quota, the demand on it at the peak, and what to do about it.
struct Limit {
    name: String,
    quota: f64,
    demand: f64,
    mitigation: &'static str,
}

impl Limit {
    /// The share of the peak at which demand reaches the quota.
    fn hit_at(&self) -> f64 {
        if self.demand <= 0.0 {
            f64::INFINITY
        } else {
            self.quota / self.demand
        }
    }
}

fn limits(model: &Model) -> Vec<Limit> {
    let (peak, _, cluster) = model.hour(PEAK_CHECKOUTS);
    let data = &model.data;
    let relay = data.functions.values().find(|f| f.kind == "stream");
    let mut limits = vec![
        Limit {
            name: API_THROTTLE.what.to_owned(),
            quota: API_THROTTLE.value,
            demand: peak.api_requests,
            mitigation: "Ask for a higher account throttle (Service Quotas, API Gateway, \"Throttle rate\") well before \
                launch; put the public catalog reads (product pages, browse, search) behind a CDN cache. The \
                template provides neither yet.",
        },
        Limit {
            name: LAMBDA_CONCURRENCY.what.to_owned(),
            quota: LAMBDA_CONCURRENCY.value,
            demand: peak.seconds,
            mitigation: "Ask for a higher concurrency quota (Service Quotas, Lambda, \"Concurrent executions\"). The \
                template reserves no concurrency, so that a new account deploys (issue 13); reserve some for \
                place-order once the quota is raised, so that searches cannot starve checkouts.",
        },
        Limit {
            name: TABLE_THROUGHPUT.what.to_owned(),
            quota: TABLE_THROUGHPUT.value,
            demand: peak.read_units.max(peak.write_units),
            mitigation: "Raise the table's on-demand maximum (Service Quotas, DynamoDB, \"Table-level read/write \
                throughput limit\"), or switch the table to provisioned capacity with auto scaling at the \
                model's units.",
        },
        Limit {
            name: format!(
                "adds per second to one product: {} stock shards of {:.0} write units a second, {} units an add",
                shop_domain::stock::MAX_SHARDS,
                PARTITION_WCU.value,
                WCU_PER_ADD_ON_SHARD.value
            ),
            quota: f64::from(shop_domain::stock::MAX_SHARDS) * PARTITION_WCU.value / WCU_PER_ADD_ON_SHARD.value,
            demand: PEAK_ADDS,
            mitigation: "`PUT /admin/products/{id}/stock` with `\"shards\": 16` before the sale (docs/reservations.md, \
                \"Hot products\"). 10K adds a second on one product needs more than the 16 shards a product may \
                have: raise `MAX_SHARDS` in crates/domain/src/stock.rs (and the `STOCK#nn` key width) first.",
        },
        Limit {
            name: WEBSOCKET_NEW_CONNECTIONS.what.to_owned(),
            quota: WEBSOCKET_NEW_CONNECTIONS.value,
            demand: PEAK_CHECKOUTS,
            mitigation: "Ask for more new connections a second (Service Quotas, API Gateway). The storefront keeps one \
                socket per tab and reconnects with backoff, so a refused connection costs live updates, not \
                the shop.",
        },
        Limit {
            name: OPENSEARCH_NODES.what.to_owned(),
            quota: OPENSEARCH_NODES.value,
            demand: cluster.nodes,
            mitigation: "Ask for the 200-node limit; cache the most frequent queries (a CDN in front of `GET /search`); \
                or split the catalog over several domains by department.",
        },
    ];
    if let Some(relay) = relay.filter(|r| r.records > 0) {
        // One batch at a time per stream shard; about one shard per partition.
        let ms_per_record = relay.busy_ms / relay.records as f64;
        let per_shard = 1000.0 / ms_per_record;
        let records = relay.records as f64 / data.sessions as f64 * PEAK_CHECKOUTS;
        let shards = partitions(peak.read_units, peak.write_units);
        limits.push(Limit {
            name: format!(
                "the relay's stream records a second per shard: one batch at a time, {ms_per_record:.2} ms a record \
                 (measured), about one shard per table partition"
            ),
            quota: per_shard,
            demand: records / shards,
            mitigation: "Set `ParallelizationFactor` (up to 10) on the relay's stream event source mapping in \
                template.yaml; the relay's sends are per-product FIFO groups, which keep their order across \
                parallel batches of one shard.",
        });
    }
    limits.sort_by(|a, b| a.hit_at().total_cmp(&b.hit_at()));
    limits
}

/// A whole number with thousands separated by commas.
fn grouped(whole: u64) -> String {
    let text = whole.to_string();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn money(dollars: f64) -> String {
    if dollars >= 100.0 {
        format!("${}", grouped(dollars.round() as u64))
    } else {
        format!("${dollars:.2}")
    }
}

fn count(value: f64) -> String {
    if value >= 10.0 {
        grouped(value.round() as u64)
    } else {
        format!("{value:.1}")
    }
}

/// A figure's value as people write it: a price of a fraction of a cent
/// per million units.
fn value(v: f64) -> String {
    let trim = |text: String| text.trim_end_matches('0').trim_end_matches('.').to_owned();
    if v < 0.0001 {
        format!("{} per million", trim(format!("{:.4}", v * 1e6)))
    } else {
        trim(format!("{v:.5}"))
    }
}

/// The share of a shard's transactions that meet another one in progress,
/// at `adds` a second over `shards`: arrivals at random, each holding the
/// item for the conflict window.
pub fn conflict_rate(adds: f64, shards: f64) -> f64 {
    1.0 - (-(adds / shards) * CONFLICT_WINDOW_MS.value / 1000.0).exp()
}

fn write_hot_product(out: &mut String) -> anyhow::Result<()> {
    let max_shards = f64::from(shop_domain::stock::MAX_SHARDS);
    let attempts = shop_store::MAX_ATTEMPTS as i32;
    let by_units = (PEAK_ADDS * WCU_PER_ADD_ON_SHARD.value / PARTITION_WCU.value).ceil();
    // Enough shards that an add gives up (every attempt conflicting) at
    // most once in a million.
    let tolerable = 1e-6_f64.powf(1.0 / f64::from(attempts));
    let mut by_conflicts = 1.0;
    while conflict_rate(PEAK_ADDS, by_conflicts) > tolerable {
        by_conflicts += 1.0;
    }
    let at_max = conflict_rate(PEAK_ADDS, max_shards);
    writeln!(
        out,
        "## One hot product\n\n\
         Every add writes one of the product's stock shard items in a transaction ({wcu} write units).\n\n\
         - **Write units.** One item takes {per_item:.0} write units a second, so 10K adds a second on one \
           product need {by_units:.0} shards; a product may have {max_shards:.0} (`MAX_SHARDS`), which take \
           {max_adds:.0} adds a second.\n\
         - **Conflicts.** DynamoDB cancels a transaction that meets another one in progress on the same item. \
           With each transaction holding its shard for {window} ms, {max_shards:.0} shards at 10K adds a second \
           conflict on {at_max_pct:.0} % of attempts; an add retries up to {attempts} times (`MAX_ATTEMPTS`), so \
           {give_up:.2} % of adds would give up with 503. For at most one add in a million to give up, a \
           product needs {by_conflicts:.0} shards (then {tolerable_pct:.0} % of attempts conflict).\n\n\
         The check drives the flash sale with stock for every shopper, so that every add must get through \
         its conflicts, at that rate and at the tolerable one: `cargo run --release -p bench -- flash-sale \
         --shards {max_shards:.0} --units 1000 --buyers 1000 --rounds 3 --conflicts {at_max:.3} --out \
         bench/results/hot-product.md`, and the same with `--conflicts {tolerable:.3} --out \
         bench/results/hot-product-sharded.md`. The command fails when any add gave up.\n",
        wcu = WCU_PER_ADD_ON_SHARD.value,
        per_item = PARTITION_WCU.value,
        max_adds = max_shards * PARTITION_WCU.value / WCU_PER_ADD_ON_SHARD.value,
        window = CONFLICT_WINDOW_MS.value,
        at_max_pct = at_max * 100.0,
        give_up = at_max.powi(attempts) * 100.0,
        tolerable_pct = tolerable * 100.0,
    )?;
    Ok(())
}

fn write_model(model: &Model) -> anyhow::Result<String> {
    let data = &model.data;
    let mut out = String::new();
    writeln!(
        out,
        "# Capacity and cost at the seed's peaks\n\n\
         Written by `cargo run --release -p bench -- scale` from `bench/results/cost.json`, which `cargo run \
         --release -p bench -- {}` measured on {} ({} sessions on {} products). Do not edit by hand: change \
         the figures in `bench/src/scale.rs` or measure again, and run the command.\n",
        data.command, data.measured_at, data.sessions, data.products
    )?;
    for note in model.checks() {
        writeln!(out, "> Note: {note}.\n")?;
    }
    let s = &model.per_session;
    writeln!(
        out,
        "## One session, measured\n\n\
         A session is a shopper's visit that ends in one order: {}. The seed's peaks (100K searches, 10K adds and \
         1K checkouts a second) are 1,000 such sessions a second. Measured per session, every function and \
         event included (the scheduled functions are counted per month instead):\n\n\
         | what | per session |\n|---|---|\n\
         | API requests | {:.1} |\n| Lambda invocations | {:.1} |\n| Lambda seconds | {:.3} |\n\
         | Lambda GB-seconds | {:.3} |\n| DynamoDB read units | {:.1} |\n| DynamoDB write units | {:.1} |\n\
         | SQS requests (with the event source mappings' receives and deletes) | {:.2} |\n| SQS messages | {:.2} |\n\
         | search queries | {:.1} |\n| search index writes | {:.2} |\n| WebSocket messages (assumed) | {:.0} |\n",
        data.session
            .iter()
            .map(|(op, n)| format!("{n} {op}"))
            .collect::<Vec<_>>()
            .join(", "),
        s.api_requests,
        s.invocations,
        s.seconds,
        s.gb_seconds,
        s.read_units,
        s.write_units,
        s.sqs_requests,
        s.sqs_messages,
        s.search_queries,
        s.index_writes,
        model.websocket_messages,
    )?;

    writeln!(
        out,
        "## At the peak, a tenth and a hundredth of it\n\n\
         | | peak | 1/10 | 1/100 |\n|---|---|---|---|"
    )?;
    let rates = [PEAK_CHECKOUTS, PEAK_CHECKOUTS / 10.0, PEAK_CHECKOUTS / 100.0];
    let levels: Vec<_> = rates.iter().map(|rate| model.hour(*rate)).collect();
    let row = |out: &mut String, name: &str, value: &dyn Fn(&(Rates, Costs, Cluster)) -> String| {
        let cells: Vec<String> = levels.iter().map(value).collect();
        writeln!(out, "| {name} | {} |", cells.join(" | "))
    };
    let sessions: Vec<String> = rates.iter().map(|r| count(*r)).collect();
    writeln!(out, "| sessions (checkouts) a second | {} |", sessions.join(" | "))?;
    row(&mut out, "API requests a second", &|(r, _, _)| count(r.api_requests))?;
    row(&mut out, "Lambda concurrency", &|(r, _, _)| count(r.seconds.ceil()))?;
    row(&mut out, "Lambda GB-seconds a second", &|(r, _, _)| count(r.gb_seconds))?;
    row(&mut out, "DynamoDB read units a second", &|(r, _, _)| {
        count(r.read_units)
    })?;
    row(&mut out, "DynamoDB write units a second", &|(r, _, _)| {
        count(r.write_units)
    })?;
    row(
        &mut out,
        "DynamoDB partitions (throughput, or a year of data)",
        &|(r, _, _)| count(partitions(r.read_units, r.write_units)),
    )?;
    row(&mut out, "DynamoDB on-demand, per hour", &|(_, c, _)| money(c.dynamodb))?;
    row(&mut out, "DynamoDB provisioned at 70 % utilization, per hour", &|(
        r,
        _,
        _,
    )| {
        money((r.read_units * DYNAMODB_RCU_HOUR.value + r.write_units * DYNAMODB_WCU_HOUR.value) / 0.7)
    })?;
    row(&mut out, "SQS requests a second", &|(r, _, _)| count(r.sqs_requests))?;
    row(&mut out, "search queries a second", &|(r, _, _)| {
        count(r.search_queries)
    })?;
    row(&mut out, "search vCPUs (at the CPU target)", &|(_, _, c)| {
        count(c.vcpus)
    })?;
    row(&mut out, "search data nodes, r6g.2xlarge.search", &|(_, _, c)| {
        count(c.nodes)
    })?;
    row(&mut out, "Lambda, per hour", &|(_, c, _)| money(c.lambda))?;
    row(&mut out, "SQS, per hour", &|(_, c, _)| money(c.sqs))?;
    row(&mut out, "API Gateway REST, per hour", &|(_, c, _)| money(c.api))?;
    row(&mut out, "API Gateway WebSocket, per hour", &|(_, c, _)| {
        money(c.websocket)
    })?;
    row(&mut out, "OpenSearch, per hour (sized for that rate)", &|(_, c, _)| {
        money(c.search)
    })?;
    row(&mut out, "**total, per hour**", &|(_, c, _)| {
        format!("**{}**", money(c.total()))
    })?;

    let month = model.month();
    let orders_month = ORDERS_PER_DAY * 30.0;
    writeln!(
        out,
        "\n## A month of 1M orders a day\n\n\
         30 million sessions, at the same mix; the search cluster sized for the peak and running all month; \
         WebSocket connections in proportion to the sessions (500K at the peak); the scheduled functions on \
         their schedules (the audit reading a {:.0}M-product ledger each hour).\n\n\
         | service | per month | per 1M orders |\n|---|---|---|",
        PRODUCTS / 1e6
    )?;
    for (name, dollars) in [
        ("Lambda", month.lambda),
        ("DynamoDB on-demand", month.dynamodb),
        ("SQS", month.sqs),
        ("API Gateway REST", month.api),
        ("API Gateway WebSocket", month.websocket),
        ("OpenSearch (sized for the peak)", month.search),
    ] {
        writeln!(
            out,
            "| {name} | {} | {} |",
            money(dollars),
            money(dollars / orders_month * 1e6)
        )?;
    }
    let small = model.search_lower_bound();
    let small_month = small.cost_per_hour() * HOURS_PER_MONTH;
    writeln!(
        out,
        "| **total** | **{}** | **{}** |\n\n\
         Without the search cluster (a cost of the peak, not of the orders), 1M orders cost {}.\n\n\
         The search cluster is the model's largest and least certain figure: a query's cost grows with the \
         products it matches, and the seed catalog's 362 title words make a query match a fixed share of it, \
         so the model scales the measured cost with the catalog. If a query matched no more products than on \
         the 1M-product catalog measured, the peak would need {} data nodes ({} vCPUs), {} a month, and the \
         month's total would be {} ({} per 1M orders). Caching the most frequent queries moves the figure \
         further down; measure it on a real catalog before sizing.\n",
        money(month.total()),
        money(month.total() / orders_month * 1e6),
        money((month.total() - month.search) / orders_month * 1e6),
        count(small.nodes),
        count(small.vcpus),
        money(small_month),
        money(month.total() - month.search + small_month),
        money((month.total() - month.search + small_month) / orders_month * 1e6),
    )?;

    write_hot_product(&mut out)?;

    writeln!(
        out,
        "## Limits, in the order the peak's traffic reaches them\n\n\
         Each quota against the demand on it at the peak; \"reached at\" is the share of the peak where demand \
         meets the quota (demand grows in proportion to the traffic).\n\n\
         | # | quota | limit | demand at the peak | reached at | mitigation |\n|---|---|---|---|---|---|"
    )?;
    let limits = limits(model);
    for (i, limit) in limits.iter().enumerate() {
        writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} % of the peak | {} |",
            i + 1,
            limit.name,
            count(limit.quota),
            count(limit.demand),
            (limit.hit_at() * 100.0).min(1e6),
            limit.mitigation
        )?;
    }
    // The search cluster's demand is the model's least certain figure.
    let small = model.search_lower_bound();
    let small_reached = OPENSEARCH_NODES.value / small.nodes;
    if let Some(first) = limits.iter().find(|l| l.name != OPENSEARCH_NODES.what) {
        writeln!(
            out,
            "\nThe search cluster's place depends on the search model above: at its lower bound ({} nodes) \
             the data-node limit is {}, and the first limit reached is \"{}\", at {:.0} % of the peak.",
            count(small.nodes),
            if small_reached >= 1.0 {
                "not reached".to_owned()
            } else {
                format!("reached at {:.0} % of the peak", small_reached * 100.0)
            },
            first.name,
            first.hit_at() * 100.0
        )?;
    }

    writeln!(
        out,
        "\n## Every figure, and where it comes from\n\n\
         Prices: {REGION}, {PRICES_AS_OF}.\n\n| figure | value | source |\n|---|---|---|"
    )?;
    for f in [
        &LAMBDA_GB_SECOND,
        &LAMBDA_REQUEST,
        &DYNAMODB_READ_REQUEST,
        &DYNAMODB_WRITE_REQUEST,
        &DYNAMODB_RCU_HOUR,
        &DYNAMODB_WCU_HOUR,
        &SQS_REQUEST,
        &REST_REQUEST,
        &WEBSOCKET_MESSAGE,
        &WEBSOCKET_CONNECTION_MINUTE,
        &OPENSEARCH_NODE_HOUR,
        &OPENSEARCH_STORAGE_GB_MONTH,
        &LAMBDA_CONCURRENCY,
        &API_THROTTLE,
        &TABLE_THROUGHPUT,
        &PARTITION_RCU,
        &PARTITION_WCU,
        &PARTITION_GB,
        &WEBSOCKET_NEW_CONNECTIONS,
        &OPENSEARCH_NODES,
        &WCU_PER_ADD_ON_SHARD,
        &PRODUCT_BYTES,
        &ORDER_BYTES,
        &QUERY_MS_PER_MILLION,
        &INDEX_MB_PER_MILLION,
        &SEARCH_CPU_TARGET,
        &CONFLICT_WINDOW_MS,
    ] {
        writeln!(out, "| {} | {} | {} |", f.what, value(f.value), f.source)?;
    }
    writeln!(
        out,
        "\nAssumed, not measured:\n\n\
         - Lambda time as measured on this machine (x86_64, the emulators on loopback) stands for the time on \
           arm64 in AWS with DynamoDB a few milliseconds away: the handlers wait on their calls far more than \
           they compute.\n\
         - The event workers' invocations carry the small batches of a local run; at the peak their batches \
           fill, so the model's worker invocations and SQS receives are an upper bound, and their time per \
           record about the same.\n\
         - The seed's peaks happen together, and every session ends in an order.\n\
         - A failed conditional write consumes write units in DynamoDB; dynoxide reports none for a \
           cancelled transaction, so refusals (sold out, a lost race) are not in the figures.\n\
         - Logs, metrics, X-Ray, data transfer and storage (other than the search cluster's) are left out."
    )?;
    Ok(out)
}

pub fn run(args: ScaleArgs) -> anyhow::Result<()> {
    let model = Model::new(CostData::read(&args.data)?)?;
    super::save(&write_model(&model)?, &args.out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn measured(kind: &str, invocations: u64, busy_ms: f64, write_units: f64) -> Measured {
        Measured {
            kind: kind.into(),
            routes: Vec::new(),
            memory_mb: 1024,
            schedule_seconds: (kind == "schedule").then_some(60),
            invocations,
            records: invocations,
            busy_ms,
            usage: devstack::meter::Usage {
                write_units,
                sqs_requests: invocations,
                ..Default::default()
            },
        }
    }

    fn data(functions: &[(&str, Measured)]) -> CostData {
        CostData {
            command: "cost".into(),
            measured_at: "now".into(),
            sessions: 10,
            products: 1_000,
            cancels: 1,
            reviews: 0,
            seconds: 60.0,
            session: super::super::cost::SESSION
                .iter()
                .map(|(o, n)| ((*o).to_owned(), *n))
                .collect(),
            functions: functions
                .iter()
                .map(|(id, f)| ((*id).to_owned(), f.clone()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn a_session_is_the_measured_use_over_the_sessions() {
        let model = Model::new(data(&[
            ("AddCartItemFunction", measured("route", 100, 1000.0, 40.0)),
            ("UpdateSearchIndexFunction", measured("queue", 20, 200.0, 0.0)),
            ("SweepReservationsFunction", measured("schedule", 2, 20.0, 4.0)),
        ]))
        .unwrap();
        let s = model.per_session;
        assert_eq!(s.api_requests, 10.0);
        assert_eq!(s.invocations, 12.0);
        assert!((s.seconds - 0.12).abs() < 1e-9);
        assert_eq!(s.write_units, 4.0);
        // The worker's own requests, then its mapping's receive and delete.
        assert_eq!(s.sqs_requests, 10.0 + 2.0 + 4.0);
        // Two units a run, a run a minute.
        assert_eq!(model.scheduled_month.write_units, 2.0 * SECONDS_PER_MONTH / 60.0);
        assert!(model.checks().is_empty());
    }

    #[test]
    fn limits_come_in_the_order_the_traffic_reaches_them() {
        let model = Model::new(data(&[("SearchFunction", measured("route", 1000, 100_000.0, 0.0))])).unwrap();
        let limits = limits(&model);
        let reached: Vec<f64> = limits.iter().map(Limit::hit_at).collect();
        assert!(reached.windows(2).all(|w| w[0] <= w[1]), "{reached:?}");
        // 100 requests a session at 1,000 sessions a second: ten times the throttle.
        let api = limits.iter().find(|l| l.name == API_THROTTLE.what).unwrap();
        assert!((api.hit_at() - 0.1).abs() < 1e-9);
    }

    #[test]
    fn money_reads_like_money() {
        assert_eq!(money(1234567.4), "$1,234,567");
        assert_eq!(money(12.345), "$12.35");
        assert_eq!(money(100.0), "$100");
        assert_eq!(count(2519.4), "2,519");
        assert_eq!(count(2.25), "2.2");
        assert_eq!(value(0.20 / 1e6), "0.2 per million");
        assert_eq!(value(0.669), "0.669");
    }

    #[test]
    fn the_rest_api_is_priced_by_tier() {
        assert!((rest_month(1e6) - 3.5).abs() < 1e-9);
        let billion = 333e6 * 3.5 / 1e6 + 667e6 * 2.8 / 1e6;
        assert!((rest_month(1e9) - billion).abs() < 1e-6);
    }
}
