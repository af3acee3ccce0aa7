//! `bench lambda`: every function as the Lambda rehearsal runs it
//! (`devstack up --lambda`). Per function:
//!
//! - its bootstrap's size: as built, stripped, and zipped (deflate, as SAM
//!   zips it);
//! - its init over `--cold-starts` cold starts: the process's start to its
//!   first `/next`;
//! - for the API's read routes, the first invocation (a cold instance) and
//!   warm p50/p99 through the rehearsal's gateway, against the in-process
//!   runner on the same routes in the same run (the machine is shared and
//!   noisy: the ratio is the figure to compare).
//!
//! Budgets: every zip ≤ 8 MB; every function's median init ≤ 50 ms; every
//! route's warm p99 within 2× of the in-process runner's.

use super::{Latencies, heading, save};
use devstack::{LambdaRehearsal, Stack, StackOptions, seed};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ZIP_BUDGET: u64 = 8 * 1024 * 1024;
const INIT_BUDGET: Duration = Duration::from_millis(50);
const WARM_RATIO_BUDGET: f64 = 2.0;

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

/// A read route, as a path and whether it needs a shopper's token.
struct Route {
    function: &'static str,
    path: String,
    shopper: bool,
}

fn routes(products: usize) -> Vec<Route> {
    let product = seed::product_id(products / 2);
    vec![
        Route {
            function: "GetProductFunction",
            path: format!("/products/{product}"),
            shopper: false,
        },
        Route {
            function: "ListCategoriesFunction",
            path: "/categories".into(),
            shopper: false,
        },
        Route {
            function: "BrowseCategoryFunction",
            path: "/categories/electronics-headphones/products?limit=20".into(),
            shopper: false,
        },
        Route {
            function: "GetRecommendationsFunction",
            path: format!("/products/{product}/recommendations"),
            shopper: false,
        },
        Route {
            function: "GetCartFunction",
            path: "/cart".into(),
            shopper: true,
        },
        Route {
            function: "ListOrdersFunction",
            path: "/orders".into(),
            shopper: true,
        },
    ]
}

/// The first request's time, then `requests` more one at a time.
async fn timed(
    http: &reqwest::Client,
    stack: &Stack,
    route: &Route,
    requests: usize,
) -> anyhow::Result<(Duration, Latencies)> {
    let token = stack.token("bench-shopper", false);
    let call = async || -> anyhow::Result<Duration> {
        let mut request = http.get(format!("{}{}", stack.api_url, route.path));
        if route.shopper {
            request = request.bearer_auth(&token);
        }
        let started = Instant::now();
        request.send().await?.error_for_status()?.bytes().await?;
        Ok(started.elapsed())
    };
    let first = call().await?;
    let started = Instant::now();
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        times.push(call().await?);
    }
    Ok((first, Latencies::new(times, started.elapsed())))
}

pub async fn run(args: LambdaArgs) -> anyhow::Result<()> {
    let bootstraps = devstack::rehearsal::build_bootstraps().await?;
    let scratch = std::env::temp_dir().join(format!("storefront-bench-lambda-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&scratch)?;
    let rehearsal = Stack::start(StackOptions {
        sqs: true,
        seed_products: Some(args.products),
        lambda: Some(LambdaRehearsal {
            bootstraps: bootstraps.clone(),
            concurrency: 1,
            scratch: scratch.join("tmp"),
        }),
        ..StackOptions::for_tests()
    })
    .await?;
    let in_process = Stack::start(StackOptions {
        seed_products: Some(args.products),
        ..StackOptions::for_tests()
    })
    .await?;
    let http = reqwest::Client::new();

    let mut misses = Vec::new();
    let mut report = heading(
        "Lambda rehearsal: size, cold start and latency per function",
        &format!(
            "lambda --cold-starts {} --requests {} --products {}",
            args.cold_starts, args.requests, args.products
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
    for function in &rehearsal.template.functions {
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
        "\nRead routes through the gateway, one request at a time: the first (a cold instance in \
         the rehearsal), then warm. Budget: warm p99 ≤ 2× the in-process runner's.\n\n\
         | route | first ms | warm p50 ms | warm p99 ms | in-process p50 ms | in-process p99 ms | p99 ratio |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for route in routes(args.products) {
        let (first, warm) = timed(&http, &rehearsal, &route, args.requests).await?;
        let (_, local) = timed(&http, &in_process, &route, args.requests).await?;
        let ratio = warm.pct(0.99) / local.pct(0.99);
        if ratio > WARM_RATIO_BUDGET {
            misses.push(format!(
                "GET {}: warm p99 {ratio:.2}× the in-process runner's",
                route.path
            ));
        }
        writeln!(
            report,
            "| GET {} ({}) | {} | {:.2} | {:.2} | {:.2} | {:.2} | {ratio:.2} |",
            route.path,
            route.function,
            ms(first),
            warm.pct(0.5),
            warm.pct(0.99),
            local.pct(0.5),
            local.pct(0.99)
        )?;
    }
    if misses.is_empty() {
        report.push_str("\nEvery budget is met.\n");
    } else {
        report.push_str("\nMissed:\n\n");
        for miss in &misses {
            writeln!(report, "- {miss}")?;
        }
    }
    save(&report, &args.out)?;
    rehearsal.stop().await?;
    in_process.stop().await?;
    let _ = std::fs::remove_dir_all(&scratch);
    anyhow::ensure!(misses.is_empty(), "{} budget(s) missed", misses.len());
    Ok(())
}
