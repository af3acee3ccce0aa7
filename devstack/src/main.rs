//! `devstack`: run the storefront locally. See the README.

use clap::{Parser, Subcommand};
use devstack::import::Format;
use devstack::{Stack, StackOptions, project_root, token};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Run the storefront backend locally, without Docker")]
struct Cli {
    /// The HS256 secret for local tokens (local use only).
    #[arg(long, env = "DEV_JWT_SECRET", default_value = token::DEFAULT_DEV_SECRET, global = true, hide_default_value = true)]
    jwt_secret: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the whole stack and serve the API until Ctrl-C (the default).
    Up(UpArgs),
    /// Fill an OpenSearch index from a table, e.g. a deployed stack's, from
    /// here: the deployed reindex-search function, run in this process.
    /// Reads the AWS configuration and the function's variables: TABLE_NAME,
    /// SEARCH_DOMAIN_NAME (or OPENSEARCH_ENDPOINT), OPENSEARCH_INDEX,
    /// REINDEX_SEGMENTS.
    Reindex,
    /// Check that stock and money add up on the running local stack (every
    /// stock shard, cart line, order and payment); exits non-zero if any
    /// discrepancy is found.
    Audit {
        /// The running stack's data folder (as given to `up`).
        #[arg(long, default_value_os_t = project_root().join(".devstack"))]
        state_dir: PathBuf,
    },
    /// Print a bearer token for local requests.
    Token {
        /// The user id (`sub` claim).
        #[arg(long, default_value = "shopper-1")]
        user: String,
        /// Put the user in the admin group.
        #[arg(long)]
        admin: bool,
        /// Validity in hours.
        #[arg(long, default_value_t = 12)]
        hours: u64,
    },
    /// Load categories, products and stock into a running stack, local or
    /// deployed, through its HTTP API (docs/import.md). Exits non-zero if
    /// any row was refused.
    Import(ImportArgs),
    /// Write the demo catalog (the one the local stack seeds) as an import
    /// file, to stdout.
    DemoCatalog {
        /// Products in the catalog (the same number always gives the same catalog).
        #[arg(long, default_value_t = 1000)]
        products: usize,
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
    },
    /// Smoke-test a running stack, local or deployed, through its public HTTP
    /// API only: catalog, sign-in, cart, checkout, order (cancelled again) and
    /// search, with a product it creates found within a bounded time. Prints
    /// one line per step; exits non-zero on the first failure.
    Smoke {
        /// The API's base URL: http://127.0.0.1:3000 locally, the stack's
        /// `ApiUrl` output (https://…/dev) in AWS.
        #[arg(long)]
        api: String,
        /// An ID token of a user in the admin group (in AWS a Cognito ID
        /// token). Against a loopback API, a local admin token is minted when
        /// none is given.
        #[arg(long, env = "STOREFRONT_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Seconds a product the run creates may take to be found by search.
        #[arg(long, default_value_t = 60)]
        search_within: u64,
    },
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The API's base URL: http://127.0.0.1:3000 locally, the stack's
    /// `ApiUrl` output (https://…/prod) in AWS.
    #[arg(long)]
    api: String,
    /// An ID token of a user in the admin group (in AWS a Cognito ID
    /// token). Against a loopback API, a local admin token is minted when
    /// none is given.
    #[arg(long, env = "STOREFRONT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Skip the rows the checkpoint beside each file (FILE.import-state)
    /// records as imported; without it, a checkpoint is started over.
    #[arg(long)]
    resume: bool,
    /// The files' format, if their names do not say (.jsonl, .ndjson, .csv).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Import the demo catalog the local stack seeds, instead of files.
    #[arg(long, conflicts_with = "files")]
    demo: bool,
    /// Products in the demo catalog [default: 1000].
    #[arg(long, requires = "demo")]
    products: Option<usize>,
    /// JSON Lines or CSV files, in any number (`-` reads stdin); all their
    /// categories go before all their products.
    #[arg(required_unless_present = "demo")]
    files: Vec<PathBuf>,
}

#[derive(clap::Args, Clone)]
struct UpArgs {
    /// Address the API listens on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Products in the seeded catalog (first run or after --reset).
    #[arg(long, default_value_t = 10_000)]
    products: usize,
    /// Delete all local data and seed again.
    #[arg(long)]
    reset: bool,
    /// Where the local data is kept.
    #[arg(long, default_value_os_t = project_root().join(".devstack"))]
    state_dir: PathBuf,
    /// Address the storefront (the web app, its sign-in and the live stock
    /// socket) listens on.
    #[arg(long, default_value = "127.0.0.1:3001")]
    web_addr: SocketAddr,
    /// Serve the API only: do not build or serve the web app.
    #[arg(long)]
    no_web: bool,
    /// Share (0 to 1) of DynamoDB transactions to cancel with
    /// TransactionConflict, as real DynamoDB does under contention.
    #[arg(long, default_value_t = 0.0)]
    transaction_conflicts: f64,
    /// Rehearse Lambda: run every function as its real `bootstrap` binary
    /// (built with cargo lambda) in processes that behave like Lambda's
    /// execution environments, instead of in this process.
    #[arg(long)]
    lambda: bool,
    /// With --lambda: the most instances of one function at once.
    #[arg(long, default_value_t = 4, requires = "lambda")]
    lambda_concurrency: usize,
    /// With --lambda: meter what each function asks of DynamoDB, SQS and
    /// OpenSearch; printed, and written to <state-dir>/meter.json, at Ctrl-C.
    #[arg(long, requires = "lambda")]
    meter: bool,
}

impl Default for UpArgs {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            web_addr: SocketAddr::from(([127, 0, 0, 1], 3001)),
            no_web: false,
            products: 10_000,
            reset: false,
            state_dir: project_root().join(".devstack"),
            transaction_conflicts: 0.0,
            lambda: false,
            lambda_concurrency: 4,
            meter: false,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Up(UpArgs::default())) {
        Command::Token { user, admin, hours } => {
            let groups: &[&str] = if admin { &[shop_edge::http::ADMIN_GROUP] } else { &[] };
            println!(
                "{}",
                token::mint(&cli.jwt_secret, &user, groups, Duration::from_secs(hours * 3600))
            );
            Ok(())
        }
        Command::Up(args) => up(args, cli.jwt_secret).await,
        Command::Reindex => reindex().await,
        Command::Audit { state_dir } => audit(&state_dir).await,
        Command::Import(args) => import(args, &cli.jwt_secret).await,
        Command::DemoCatalog { products, format } => {
            devstack::import::write_demo_catalog(products, format, std::io::stdout().lock())
        }
        Command::Smoke {
            api,
            token,
            search_within,
        } => smoke(&api, token, &cli.jwt_secret, search_within).await,
    }
}

async fn smoke(api: &str, token: Option<String>, jwt_secret: &str, search_within: u64) -> anyhow::Result<()> {
    let token = devstack::smoke::resolve_token(api, token, jwt_secret)?;
    println!("smoke-testing {api}");
    let started = Instant::now();
    let options = devstack::smoke::SmokeOptions {
        search_within: Duration::from_secs(search_within),
        print: true,
        ..Default::default()
    };
    let report = devstack::smoke::run(api, &token, options).await?;
    if !report.is_success() {
        eprintln!("smoke tests failed after {:.1} s", started.elapsed().as_secs_f64());
        std::process::exit(1);
    }
    println!(
        "all {} steps passed in {:.1} s ({} was found by search {:.1} s after it was created)",
        report.steps.len(),
        started.elapsed().as_secs_f64(),
        report.created_product_id,
        report.search_freshness.unwrap_or_default().as_secs_f64()
    );
    Ok(())
}

async fn import(args: ImportArgs, jwt_secret: &str) -> anyhow::Result<()> {
    use devstack::import::{ImportOptions, Input, Stopped};
    if args.products.is_some() && !args.demo {
        anyhow::bail!("--products is the size of the demo catalog: it goes with --demo");
    }
    let token = match args.token {
        Some(token) => token,
        None if devstack::client::is_loopback(&args.api) => {
            eprintln!("no --token: using a local admin token signed with the dev secret");
            token::mint(
                jwt_secret,
                "devstack-import",
                &[shop_edge::http::ADMIN_GROUP],
                Duration::from_secs(12 * 3600),
            )
        }
        None => anyhow::bail!(
            "{} needs a token: pass --token (or set STOREFRONT_TOKEN) to an ID token of a user in the admin \
             group (in AWS, a Cognito ID token; see docs/import.md)",
            args.api
        ),
    };
    let api = devstack::client::ApiClient::new(&args.api)?.with_token(token);
    let inputs = if args.demo {
        vec![Input::Demo {
            products: args.products.unwrap_or(1000),
        }]
    } else {
        args.files
            .into_iter()
            .map(|f| {
                if f.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::File(f)
                }
            })
            .collect()
    };
    let (stop, interrupt) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping: the rows in flight are sent again by --resume");
            let _ = stop.send(true);
        }
    });
    let started = Instant::now();
    let report = devstack::import::run(ImportOptions {
        format: args.format,
        concurrency: args.concurrency,
        resume: args.resume,
        progress: true,
        interrupt: Some(interrupt),
        ..ImportOptions::new(api, inputs)
    })
    .await?;
    println!("{report} in {:.1} s", started.elapsed().as_secs_f64());
    match report.stopped {
        Some(Stopped::Interrupted) => std::process::exit(130),
        _ if !report.is_success() => std::process::exit(1),
        _ => Ok(()),
    }
}

async fn audit(state_dir: &std::path::Path) -> anyhow::Result<()> {
    shop_edge::logging::init_as(shop_edge::logging::LogFormat::Text);
    let running = devstack::RunningStack::read(state_dir)?;
    let started = Instant::now();
    let report = running.audit().await?;
    println!("{report}");
    println!(
        "audited {} in {:.1} s",
        running.dynamodb_url,
        started.elapsed().as_secs_f64()
    );
    if !report.is_clean() {
        std::process::exit(1);
    }
    Ok(())
}

/// Runs the deployed `reindex-search` function here, in this process,
/// against the table and domain the environment names: every segment side
/// by side, each until done.
async fn reindex() -> anyhow::Result<()> {
    shop_edge::logging::init_as(shop_edge::logging::LogFormat::Text);
    let config = shop_edge::config::Config::from_env()?;
    let sdk = shop_store::aws::sdk_config().await;
    let store = shop_store::DynamoStore::new(shop_store::aws::dynamodb(&sdk, None), config.table_name.clone());
    let env = |name: &str| std::env::var(name).ok();
    let started = Instant::now();
    let summary = devstack::rebuild_search(&env, &store, &sdk).await?;
    println!(
        "indexed {} products from {} in {:.1} s",
        summary.indexed,
        config.table_name,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn up(args: UpArgs, jwt_secret: String) -> anyhow::Result<()> {
    let format = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => shop_edge::logging::LogFormat::Json,
        _ => shop_edge::logging::LogFormat::Text,
    };
    shop_edge::logging::init_as(format);
    let data_file = args.state_dir.join("dynamodb.sqlite");
    let search_index = args.state_dir.join("search-index");
    let mail_dir = args.state_dir.join("mail");
    if args.reset {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", data_file.display()));
        }
        let _ = std::fs::remove_dir_all(&search_index);
        let _ = std::fs::remove_dir_all(&mail_dir);
    }
    let web_dist = if args.no_web {
        None
    } else {
        Some(devstack::build_web().await?)
    };
    let lambda = if args.lambda {
        eprintln!("building every function's Lambda bootstrap (scripts/lambda-build) ...");
        Some(devstack::LambdaRehearsal {
            bootstraps: devstack::rehearsal::build_bootstraps(&args.state_dir.join("lambda-code")).await?,
            concurrency: args.lambda_concurrency,
            scratch: args.state_dir.join("lambda-tmp"),
            policies: None,
            meter: args.meter,
        })
    } else {
        None
    };
    let started = Instant::now();
    let stack = Stack::start(StackOptions {
        api_addr: args.addr,
        web_addr: args.web_addr,
        web_dist,
        data_file: Some(data_file.clone()),
        sqs: true,
        jwt_secret: jwt_secret.clone(),
        seed_products: Some(args.products),
        progress: true,
        search_index: Some(search_index.clone()),
        mail_dir: Some(mail_dir),
        transaction_conflicts: args.transaction_conflicts,
        retry_delay: None,
        lambda,
        opensearch: false,
    })
    .await?;
    let api = &stack.api_url;
    println!();
    println!("storefront is up in {:.1} s", started.elapsed().as_secs_f64());
    println!("  storefront {}   (sign in with any user name)", stack.web_url);
    println!("  API        {api}   (every route of template.yaml)");
    println!("  live stock {}   (WebSocket)", stack.live_url);
    println!(
        "  DynamoDB   {}   (dynoxide; data in {})",
        stack.dynamodb_url,
        data_file.display()
    );
    if let Some(sqs) = &stack.sqs_url {
        println!(
            "  SQS        {sqs}   (moto; queues: {})",
            stack.queues.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    println!("  catalog    {} products", stack.seeded.unwrap_or(0));
    if args.lambda {
        println!("  search     OpenSearch (osmem-server) as in AWS, kept fresh from the table's stream");
    } else {
        println!(
            "  search     tantivy index in {}, kept fresh from the table's stream",
            search_index.display()
        );
    }
    println!("  events     stream → relay-events → SQS → update-search-index, update-recommendations");
    if args.lambda {
        println!(
            "  functions  {} as Lambda bootstraps (at most {} instances each; logs prefixed [name#instance])",
            stack.pools.len(),
            args.lambda_concurrency
        );
    }
    if args.meter {
        println!("  metering   each function's DynamoDB units, SQS requests and searches, printed at Ctrl-C");
    }
    println!();
    println!("try:");
    println!("  curl {api}/categories");
    println!("  curl {api}/categories/electronics-headphones/products?limit=3");
    println!("  curl {api}/products/P0000001");
    println!("  curl '{api}/search?q=wireless%20hedphones&inStock=true'");
    println!("  TOKEN=$(cargo run -q --release -p devstack -- token --admin)");
    println!(
        "  curl -X PUT -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{{\"onHand\": 25}}' {api}/admin/products/P0000001/stock"
    );
    println!();
    println!("  audit      cargo run -q --release -p devstack -- audit   (do stock and money add up?)");
    println!();
    println!("Ctrl-C stops the stack (data is kept; --reset starts over).");
    let running = devstack::RunningStack::of(&stack);
    running.write(&args.state_dir)?;
    tokio::signal::ctrl_c().await?;
    if let Some(meter) = &stack.meter {
        let usage = meter.usage();
        let file = args.state_dir.join("meter.json");
        std::fs::write(&file, serde_json::to_string_pretty(&usage)? + "\n")?;
        eprintln!("{}", devstack::meter::summary(&usage));
        eprintln!("(also in {})", file.display());
    }
    eprintln!("stopping ...");
    devstack::RunningStack::remove(&args.state_dir);
    stack.stop().await
}
