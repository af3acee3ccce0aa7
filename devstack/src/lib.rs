//! The local stack: everything the storefront needs, on one machine, without
//! Docker. DynamoDB is dynoxide (embedded), SQS is moto (a child process), and
//! the API is a local gateway serving every route of template.yaml with the
//! same handler functions the Lambdas run.
//!
//! The `devstack` binary runs it for people; the integration tests start it
//! in-process with fresh state and random ports.

pub mod client;
pub mod dynamo;
pub mod faults;
pub mod forward;
pub mod functions;
pub mod gateway;
pub mod iam;
pub mod import;
pub mod live;
pub mod meter;
pub mod moto;
pub mod osmem;
pub mod pipeline;
pub mod rehearsal;
pub mod search_index;
pub mod seed;
pub mod smoke;
pub mod stream_table;
pub mod template;
pub mod token;
pub mod web;

use anyhow::{Context, anyhow, bail};
use shop_domain::time::Clock;
use shop_edge::config::Config;
use shop_edge::http::AllowedOrigin;
use shop_search::Searcher;
use shop_search::backend::AnyBackend;
use shop_search::opensearch::{OpenSearchBackend, Signing};
use shop_store::DynamoStore;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use template::{EnvValue, Template};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The repository root (where template.yaml and tools/ live).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("devstack lives in the workspace")
        .to_path_buf()
}

/// Rebuilds an OpenSearch index from the table with the reindex function
/// itself, in this process (`env` is its environment; never a Lambda's
/// continuation here, even inside a Lambda environment): `devstack
/// reindex` against a deployed stack, and the rehearsal's index at start.
pub async fn rebuild_search(
    env: &dyn Fn(&str) -> Option<String>,
    store: &DynamoStore,
    sdk: &aws_config::SdkConfig,
) -> anyhow::Result<reindex_search::Summary> {
    use shop_edge::function::Function;
    let env = |name: &str| (name != "AWS_LAMBDA_FUNCTION_NAME").then(|| env(name)).flatten();
    let config = Config::from_lookup(env)?;
    let init = shop_edge::function::Init {
        env: &env,
        config: &config,
        store,
        sdk,
        provided: &shop_edge::function::Extensions::new(),
    };
    let function = reindex_search::ReindexSearch::init(&init)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let rebuild = reindex_search::ReindexEvent::Rebuild {
        rebuild: Default::default(),
    };
    function.handle(rebuild).await.map_err(|e| anyhow!("{e}"))
}

/// Builds the web app into `web/dist` (npm packages installed on first use,
/// rebuilt only when its sources change) and returns that folder.
pub async fn build_web() -> anyhow::Result<PathBuf> {
    let root = project_root();
    let status = tokio::process::Command::new(root.join("scripts").join("web-build"))
        .status()
        .await
        .context("running scripts/web-build (needs Node.js and npm)")?;
    if !status.success() {
        bail!("building the web app failed (scripts/web-build); `devstack up --no-web` serves the API alone");
    }
    Ok(root.join("web").join("dist"))
}

/// A free TCP port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The local stand-in for an EventBridge schedule: runs `job` every
/// `every` until shutdown, telling the stream mappings after each run.
fn run_every(
    every: std::time::Duration,
    job: functions::Job,
    writes: pipeline::Writes,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    job().await;
                    writes.served();
                }
                // The only change ever sent is the shutdown.
                _ = shutdown.changed() => return,
            }
        }
    })
}

/// The template's tables in dynoxide, served over HTTP.
struct LocalTables {
    db: dynoxide::Database,
    /// The runner's own connection to dynoxide's stream table.
    streams: Arc<stream_table::StreamTable>,
    url: String,
    /// The stack's own client, always straight to dynoxide.
    dynamodb: aws_sdk_dynamodb::Client,
    /// Local names by logical id.
    names: BTreeMap<String, String>,
    tasks: Vec<JoinHandle<()>>,
}

impl LocalTables {
    async fn start(
        options: &StackOptions,
        template: &Template,
        sdk: &aws_config::SdkConfig,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let (db, streams) = dynamo::open(options.data_file.as_deref())?;
        let streams = Arc::new(streams);
        // WAL with synchronous=NORMAL: no fsync per commit, still crash-safe
        // for the database file. Plenty for local data.
        db.disable_bulk_loading()
            .map_err(|e| anyhow!("dynoxide pragmas: {e}"))?;
        let trimmer = stream_table::run_trimmer(Arc::clone(&streams), shutdown.clone());
        let (url, task) = dynamo::serve(db.clone(), shutdown).await?;
        let dynamodb = shop_store::aws::dynamodb(sdk, Some(&url));
        dynamo::ensure_tables(&dynamodb, &template.tables).await?;
        let names = template
            .tables
            .iter()
            .map(|t| (t.logical_id.clone(), t.logical_id.clone()))
            .collect();
        Ok(Self {
            db,
            streams,
            url,
            dynamodb,
            names,
            tasks: vec![task, trimmer],
        })
    }

    fn shop_table(&self) -> anyhow::Result<&str> {
        self.names
            .get("ShopTable")
            .map(String::as_str)
            .context("template.yaml has no ShopTable")
    }
}

/// The template's queues in moto, when the stack runs its event pipeline.
struct LocalQueues {
    moto: Option<moto::Moto>,
    moto_server: Option<moto::MotoServer>,
    sqs: Option<aws_sdk_sqs::Client>,
    queues: BTreeMap<String, moto::LocalQueue>,
}

impl LocalQueues {
    async fn start(options: &StackOptions, template: &Template, sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        if !options.sqs {
            return Ok(Self {
                moto: None,
                moto_server: None,
                sqs: None,
                queues: BTreeMap::new(),
            });
        }
        let moto_server = moto::ensure_installed(&project_root()).await?;
        let moto = moto::Moto::start(&moto_server).await?;
        let sqs = shop_events::sqs(sdk, Some(&moto.endpoint));
        let queues = moto::create_queues(&sqs, &template.queues).await?;
        Ok(Self {
            moto: Some(moto),
            moto_server: Some(moto_server),
            sqs: Some(sqs),
            queues,
        })
    }
}

/// The functions reach dynoxide through the fault proxy when transaction
/// conflicts are injected, straight otherwise.
struct FaultProxy {
    dynamodb: aws_sdk_dynamodb::Client,
    /// Where the functions' DynamoDB calls go (the proxy, or dynoxide).
    url: String,
    counts: Arc<faults::FaultCounts>,
    task: Option<JoinHandle<()>>,
}

impl FaultProxy {
    async fn start(
        options: &StackOptions,
        tables: &LocalTables,
        sdk: &aws_config::SdkConfig,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let counts = Arc::new(faults::FaultCounts::default());
        if options.transaction_conflicts <= 0.0 {
            return Ok(Self {
                dynamodb: tables.dynamodb.clone(),
                url: tables.url.clone(),
                counts,
                task: None,
            });
        }
        let (proxy_url, task) = faults::serve(
            tables.url.clone(),
            options.transaction_conflicts,
            Arc::clone(&counts),
            shutdown,
        )
        .await?;
        Ok(Self {
            dynamodb: shop_store::aws::dynamodb(sdk, Some(&proxy_url)),
            url: proxy_url,
            counts,
            task: Some(task),
        })
    }
}

/// The rehearsal's IAM proxy, in front of the functions' DynamoDB (the
/// fault proxy or dynoxide) and moto.
struct IamProxy {
    url: String,
    enforcer: Arc<iam::Enforcer>,
    meter: Option<Arc<meter::Meter>>,
    task: JoinHandle<()>,
}

impl IamProxy {
    async fn start(
        rehearsal: &LambdaRehearsal,
        template: &Template,
        tables: &LocalTables,
        queues: &LocalQueues,
        faults: &FaultProxy,
        opensearch: Option<&osmem::Osmem>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let policies = match &rehearsal.policies {
            Some(policies) => policies.clone(),
            None => iam::TemplatePolicies::translate(&project_root()).await?,
        };
        let partition_key = |schema: &[template::KeySchemaElement]| {
            schema
                .iter()
                .find(|k| k.key_type == "HASH")
                .map(|k| k.attribute_name.clone())
                .unwrap_or_default()
        };
        let locals = iam::Locals {
            region: shop_store::aws::LOCAL_REGION.to_owned(),
            stack: REHEARSAL_STACK.to_owned(),
            tables: template
                .tables
                .iter()
                .map(|t| {
                    let table = iam::LocalTable {
                        name: tables.names[&t.logical_id].clone(),
                        partition_key: partition_key(&t.key_schema),
                        index_partition_keys: t
                            .global_secondary_indexes
                            .iter()
                            .map(|i| (i.index_name.clone(), partition_key(&i.key_schema)))
                            .collect(),
                    };
                    (t.logical_id.clone(), table)
                })
                .collect(),
            queues: queues.queues.clone(),
        };
        let enforcer = Arc::new(iam::Enforcer::new(&policies, locals)?);
        let meter = rehearsal.meter.then(|| Arc::new(meter::Meter::default()));
        let upstreams = iam::Upstreams {
            dynamodb: faults.url.clone(),
            sqs: queues.moto.as_ref().map(|m| m.endpoint.clone()),
            opensearch: meter.as_ref().and(opensearch).map(|o| o.endpoint.clone()),
        };
        let (url, task) = iam::serve(Arc::clone(&enforcer), upstreams, meter.clone(), shutdown).await?;
        Ok(Self {
            url,
            enforcer,
            meter,
            task,
        })
    }
}

/// The API's and the storefront's sockets, bound before anything is served
/// so that their addresses can be handed to the functions.
struct Listeners {
    api: tokio::net::TcpListener,
    web: tokio::net::TcpListener,
    api_url: String,
    web_url: String,
    live_url: String,
}

impl Listeners {
    async fn bind(options: &StackOptions) -> anyhow::Result<Self> {
        let api = tokio::net::TcpListener::bind(options.api_addr)
            .await
            .with_context(|| format!("binding the API to {}", options.api_addr))?;
        let web = tokio::net::TcpListener::bind(options.web_addr)
            .await
            .with_context(|| format!("binding the storefront to {}", options.web_addr))?;
        Ok(Self {
            api_url: format!("http://{}", api.local_addr()?),
            web_url: format!("http://{}", web.local_addr()?),
            live_url: format!("ws://{}/live", web.local_addr()?),
            api,
            web,
        })
    }
}

/// Serves `app` on `listener` until shutdown.
pub(crate) fn serve(
    what: &'static str,
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let signal = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(signal).await {
            tracing::error!(error = %e, "{what} stopped");
        }
    })
}

/// Everything the template's functions are wired to locally.
struct Wiring<'a> {
    template: &'a Template,
    options: &'a StackOptions,
    sdk: &'a aws_config::SdkConfig,
    tables: &'a LocalTables,
    queues: &'a LocalQueues,
    /// The functions' client (through the fault proxy when it is on).
    functions_dynamodb: &'a aws_sdk_dynamodb::Client,
    /// The rehearsal's IAM proxy: the processes' endpoint for DynamoDB and
    /// SQS (see [`iam`]).
    functions_aws_url: Option<&'a str>,
    clock: &'a Clock,
    searcher: &'a Arc<Searcher<AnyBackend>>,
    notifier: shop_live::ApiGatewayNotifier,
    /// The email worker's post: the mail folder and the local sign-in's users.
    post: (shop_mail::Mailer, shop_mail::Directory),
    /// Where the runner serves the storefront: the origin the API lets read it.
    storefront_url: &'a str,
    /// The rehearsal's OpenSearch (osmem-server), where its search
    /// functions read and write.
    opensearch_url: Option<&'a str>,
    /// Whether the IAM proxy meters: then the functions reach OpenSearch
    /// through it, at `/as/<function>` (see [`meter`]).
    metered: bool,
    /// The rehearsal's user pool and SES, in moto (the email worker's).
    rehearsal_mail: Option<&'a moto::RehearsalMail>,
    writes: &'a pipeline::Writes,
    checkpoints: &'a Arc<pipeline::Checkpoints>,
    shutdown: watch::Receiver<bool>,
}

/// The stack name the rehearsal's functions are told (`AWS::StackName`).
const REHEARSAL_STACK: &str = "storefront-local";

impl Wired {
    fn add_routes(&mut self, function: &template::FunctionSpec, handler: gateway::RouteHandler) -> anyhow::Result<()> {
        for route in &function.routes {
            self.gateway.add(
                &route.method,
                &route.path,
                gateway::Route {
                    resource: route.path.clone(),
                    handler: handler.clone(),
                    authorized: route.authorized,
                },
            )?;
        }
        Ok(())
    }
}

/// The template parameter naming the storefront's URL.
const STOREFRONT_URL: &str = "StorefrontUrl";
/// Who local order emails are from, and where the local sign-in's shoppers
/// get theirs (`<user>@shop.test`; `.test` is reserved, RFC 2606).
const MAIL_FROM: &str = "orders@shop.test";
const LOCAL_MAIL_DOMAIN: &str = "shop.test";

/// The template's functions, wired: HTTP routes, WebSocket routes, and the
/// event source mappings and schedules running in the background.
struct Wired {
    gateway: gateway::Gateway,
    live: live::LiveGateway,
    tasks: Vec<JoinHandle<()>>,
    /// The rehearsal's instance pools, by logical id (none in process).
    pools: BTreeMap<String, Arc<rehearsal::Pool>>,
}

impl Wiring<'_> {
    /// A template parameter as the runner sets it: `StorefrontUrl` is the
    /// runner's own storefront (as a deploy passes the real one); the others
    /// keep their defaults.
    fn parameter(&self, id: &str) -> Option<String> {
        match id {
            STOREFRONT_URL => Some(self.storefront_url.to_owned()),
            _ => self.template.parameters.get(id).cloned(),
        }
    }

    /// A function's variables from template.yaml, with `Ref`s and `GetAtt`s
    /// of tables, queues and parameters resolved to their local values.
    fn variable(&self, function: &template::FunctionSpec, name: &str) -> Option<String> {
        let queues = &self.queues.queues;
        function.environment.get(name).and_then(|value| match value {
            EnvValue::Literal(text) => Some(text.clone()),
            EnvValue::Ref(id) => self
                .tables
                .names
                .get(id)
                .cloned()
                .or_else(|| queues.get(id).map(|q| q.url.clone()))
                .or_else(|| self.parameter(id)),
            EnvValue::GetAtt(id, attr) if attr == "Arn" => queues.get(id).map(|q| q.arn.clone()),
            EnvValue::GetAtt(id, attr) if attr == "QueueUrl" => queues.get(id).map(|q| q.url.clone()),
            EnvValue::GetAtt(..) | EnvValue::Sub(_) | EnvValue::If(_) => None,
        })
    }

    async fn wire_functions(&self) -> anyhow::Result<Wired> {
        let socket_functions: BTreeMap<&str, Vec<&str>> =
            self.template.websockets.iter().flat_map(|api| api.routes.iter()).fold(
                BTreeMap::new(),
                |mut by_function, (route, function)| {
                    by_function
                        .entry(function.as_str())
                        .or_insert_with(Vec::new)
                        .push(route.as_str());
                    by_function
                },
            );
        let mut wired = Wired {
            gateway: gateway::Gateway::new(
                self.options.jwt_secret.clone(),
                AllowedOrigin::parse(self.storefront_url).map_err(|e| anyhow!("the storefront's URL: {e}"))?,
                self.writes.clone(),
            ),
            live: live::LiveGateway::default(),
            tasks: Vec::new(),
            pools: BTreeMap::new(),
        };
        // What the runner shares with its functions instead of letting each
        // build its own: the emulator's SQS client, the one search index,
        // the notifier that answers through the runner's WebSocket API, and
        // the mail folder with the local sign-in's addresses.
        let mut provided = shop_edge::function::Extensions::new();
        if let Some(sqs) = &self.queues.sqs {
            provided.insert(sqs.clone());
        }
        provided.insert(Arc::clone(self.searcher));
        provided.insert(self.notifier.clone());
        provided.insert(self.post.0.clone());
        provided.insert(self.post.1.clone());
        for function in &self.template.functions {
            let lookup = |name: &str| self.variable(function, name);
            let config = Config::from_lookup(lookup).with_context(|| format!("configuring {}", function.logical_id))?;
            let store = DynamoStore::new(self.functions_dynamodb.clone(), config.table_name.clone())
                .with_clock(self.clock.clone());
            let init = shop_edge::function::Init {
                env: &lookup,
                config: &config,
                store: &store,
                sdk: self.sdk,
                provided: &provided,
            };
            let event_source = function.queue_trigger.is_some() || function.stream_trigger.is_some();
            if event_source && self.queues.sqs.is_none() {
                // Event sources need SQS; without it the pipeline does not run.
                continue;
            }
            let built = match &self.options.lambda {
                // Only CloudFormation invokes it (see `Stack::reindex`).
                Some(_) if function.binary == "reindex-search" => functions::Built::Deploy,
                Some(rehearsal) => {
                    let pool = rehearsal::Pool::new(self.image(function, rehearsal), rehearsal.concurrency);
                    wired.pools.insert(function.logical_id.clone(), Arc::clone(&pool));
                    let websocket = socket_functions.contains_key(function.logical_id.as_str());
                    rehearsal::built(function, websocket, pool)
                }
                None => functions::build(&function.binary, &init)
                    .await
                    .ok_or_else(|| {
                        anyhow!(
                            "template.yaml names binary {}, which the local runner does not know",
                            function.binary
                        )
                    })?
                    .map_err(|e| anyhow!("starting {}: {e}", function.logical_id))?,
            };
            let mismatch =
                |kind: &str, lacks: &str| anyhow!("{} is {kind}, but template.yaml gives it {lacks}", function.binary);
            match built {
                functions::Built::Socket(handler) => {
                    let routes = socket_functions
                        .get(function.logical_id.as_str())
                        .ok_or_else(|| mismatch("a WebSocket function", "no WebSocket route"))?;
                    for route in routes {
                        wired.live.add(route, handler.clone());
                    }
                }
                functions::Built::Queue(worker) => {
                    let trigger = function
                        .queue_trigger
                        .as_ref()
                        .ok_or_else(|| mismatch("a queue worker", "no SQS trigger"))?;
                    wired.tasks.push(self.start_queue_worker(function, trigger, worker)?);
                }
                functions::Built::Stream(worker) => {
                    let trigger = function
                        .stream_trigger
                        .as_ref()
                        .ok_or_else(|| mismatch("a stream worker", "no DynamoDB stream trigger"))?;
                    wired.tasks.push(self.start_stream_worker(function, trigger, worker)?);
                }
                functions::Built::Job(job) => {
                    let every = function
                        .schedule
                        .ok_or_else(|| mismatch("a scheduled job", "no schedule"))?;
                    wired
                        .tasks
                        .push(run_every(every, job, self.writes.clone(), self.shutdown.clone()));
                }
                functions::Built::Deploy => {}
                functions::Built::Http(handler) => {
                    wired.add_routes(function, gateway::RouteHandler::InProcess(handler))?;
                }
                functions::Built::HttpEvent(handler) => {
                    wired.add_routes(function, gateway::RouteHandler::Event(handler))?;
                }
            }
        }
        Ok(wired)
    }

    /// What the rehearsal starts `function`'s instances from: its
    /// bootstrap, its memory and timeout, and its variables from
    /// template.yaml resolved as in process, except the values the runner
    /// otherwise hands the function itself (see [`Wiring::rehearsal_value`]);
    /// then the endpoints of the emulators and credentials naming the
    /// function, as its role's would in Lambda.
    fn image(&self, function: &template::FunctionSpec, rehearsal: &LambdaRehearsal) -> rehearsal::Image {
        let mut variables = BTreeMap::new();
        for name in function.environment.keys() {
            match self
                .variable(function, name)
                .or_else(|| self.rehearsal_value(function, name))
            {
                Some(value) => {
                    variables.insert(name.clone(), value);
                }
                None => tracing::warn!(
                    function = %function.logical_id,
                    variable = %name,
                    "the rehearsal has no local value for this variable; the function starts without it"
                ),
            }
        }
        let aws = self.functions_aws_url.expect("the rehearsal runs behind its IAM proxy");
        variables.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), aws.to_owned());
        variables.insert("AWS_ENDPOINT_URL_SQS".into(), aws.to_owned());
        if let Some(moto) = &self.queues.moto {
            // Not behind the IAM proxy: the email worker's SES and user pool.
            variables.insert("AWS_ENDPOINT_URL_SESV2".into(), moto.endpoint.clone());
            variables.insert(
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER".into(),
                moto.endpoint.clone(),
            );
        }
        variables.insert("AWS_ACCESS_KEY_ID".into(), function.logical_id.clone());
        variables.insert("AWS_SECRET_ACCESS_KEY".into(), "rehearsal".into());
        variables.insert("AWS_SESSION_TOKEN".into(), format!("rehearsal-{}", function.logical_id));
        rehearsal::Image {
            name: format!("{REHEARSAL_STACK}-{}", function.logical_id),
            bootstrap: rehearsal.bootstraps.join(&function.binary).join("bootstrap"),
            variables,
            memory_mb: function.memory_mb,
            timeout: function.timeout,
            region: shop_store::aws::LOCAL_REGION.to_owned(),
            scratch: rehearsal.scratch.clone(),
        }
    }

    /// A value the template computes from AWS resources (`!Sub`, `!If`,
    /// pseudo parameters) that the in-process runner does not need, because
    /// it hands the function the thing itself: its local equivalent.
    fn rehearsal_value(&self, function: &template::FunctionSpec, name: &str) -> Option<String> {
        match function.environment.get(name)? {
            EnvValue::Ref(id) if id == "AWS::StackName" => Some(REHEARSAL_STACK.to_owned()),
            EnvValue::Ref(id) if id == "AWS::Region" => Some(shop_store::aws::LOCAL_REGION.to_owned()),
            // push-stock answers WebSocket connections through the runner's
            // management API, as the in-process notifier does.
            EnvValue::Sub(_) if name == "LIVE_CALLBACK_URL" => Some(self.storefront_url.to_owned()),
            // The stack's search domain: the rehearsal's OpenSearch.
            EnvValue::If(_) if name == "OPENSEARCH_ENDPOINT" => match (self.metered, self.functions_aws_url) {
                (true, Some(proxy)) => Some(format!("{proxy}/as/{}", function.logical_id)),
                _ => self.opensearch_url.map(str::to_owned),
            },
            // The email worker's user pool: moto's (see [`moto::RehearsalMail`]).
            EnvValue::Ref(_) if name == "USER_POOL_ID" => self.rehearsal_mail.map(|m| m.user_pool_id.clone()),
            _ => None,
        }
    }

    fn queue(&self, function: &template::FunctionSpec, id: &str) -> anyhow::Result<&moto::LocalQueue> {
        self.queues
            .queues
            .get(id)
            .ok_or_else(|| anyhow!("{} names queue {id}, which is not in the template", function.logical_id))
    }

    /// Starts the event source mapping of a queue-triggered function.
    fn start_queue_worker(
        &self,
        function: &template::FunctionSpec,
        trigger: &template::QueueTrigger,
        worker: pipeline::QueueWorker,
    ) -> anyhow::Result<JoinHandle<()>> {
        let sqs = self.queues.sqs.as_ref().expect("event sources run with SQS");
        let queue = self.queue(function, &trigger.queue)?;
        let source = pipeline::QueueSource {
            sqs: sqs.clone(),
            queue_url: queue.url.clone(),
            queue_arn: queue.arn.clone(),
            trigger: trigger.clone(),
            retry_delay: self.options.retry_delay,
        };
        Ok(pipeline::run_queue(source, worker, self.shutdown.clone()))
    }

    /// Starts the event source mapping of a stream-triggered function.
    fn start_stream_worker(
        &self,
        function: &template::FunctionSpec,
        trigger: &template::StreamTrigger,
        worker: pipeline::StreamWorker,
    ) -> anyhow::Result<JoinHandle<()>> {
        let sqs = self.queues.sqs.as_ref().expect("event sources run with SQS");
        let on_failure = match &trigger.on_failure {
            Some(id) => Some((sqs.clone(), self.queue(function, id)?.url.clone())),
            None => None,
        };
        let streams = aws_sdk_dynamodbstreams::Client::from_conf(
            aws_sdk_dynamodbstreams::config::Builder::from(self.sdk)
                .endpoint_url(&self.tables.url)
                .build(),
        );
        let source = pipeline::StreamSource {
            mapping: function.logical_id.clone(),
            streams,
            dynamodb: self.tables.dynamodb.clone(),
            table: trigger.table.clone(),
            trigger: trigger.clone(),
            on_failure,
            retry_delay: self.options.retry_delay.unwrap_or(std::time::Duration::from_secs(1)),
            writes: self.writes.clone(),
            checkpoints: Arc::clone(self.checkpoints),
        };
        Ok(pipeline::run_stream(source, worker, self.shutdown.clone()))
    }
}

/// Where a running local stack can be reached, written to its data folder
/// by `devstack up` so that other commands (`devstack audit`) find it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunningStack {
    pub dynamodb_url: String,
    pub table: String,
}

impl RunningStack {
    const FILE: &'static str = "stack.json";

    pub fn of(stack: &Stack) -> Self {
        Self {
            dynamodb_url: stack.dynamodb_url.clone(),
            table: stack.table().to_owned(),
        }
    }

    pub fn write(&self, state_dir: &Path) -> anyhow::Result<()> {
        let path = state_dir.join(Self::FILE);
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn remove(state_dir: &Path) {
        let _ = std::fs::remove_file(state_dir.join(Self::FILE));
    }

    pub fn read(state_dir: &Path) -> anyhow::Result<Self> {
        let path = state_dir.join(Self::FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no local stack is running from {} (start one with `cargo run --release -p devstack`)",
                state_dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// Audits the stack's ledger (`shop_orders::audit::audit`): every stock
    /// shard and every payment of the simulated provider.
    pub async fn audit(&self) -> anyhow::Result<shop_orders::audit::AuditReport> {
        let sdk = shop_store::aws::local_sdk_config();
        let store =
            shop_store::DynamoStore::new(shop_store::aws::dynamodb(&sdk, Some(&self.dynamodb_url)), &self.table);
        let payments = shop_payments::simulated::SimulatedProvider::new(store.clone());
        shop_orders::audit::audit(&store, &payments, time::OffsetDateTime::UNIX_EPOCH)
            .await
            .with_context(|| format!("auditing the stack at {} (is it still running?)", self.dynamodb_url))
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where the API listens; port 0 picks a free one.
    pub api_addr: SocketAddr,
    /// Where the storefront's origin listens: the SPA, its `/config.json`,
    /// the local sign-in and the live stock WebSocket.
    pub web_addr: SocketAddr,
    /// The built SPA (`web/dist`) to serve, if any.
    pub web_dist: Option<PathBuf>,
    /// The DynamoDB data file; `None` keeps everything in memory.
    pub data_file: Option<PathBuf>,
    /// Start moto for SQS and create the template's queues.
    pub sqs: bool,
    /// The HS256 secret local tokens are signed with.
    pub jwt_secret: String,
    /// Seed this many products if the table has not been seeded yet.
    pub seed_products: Option<usize>,
    /// Show a progress bar while seeding.
    pub progress: bool,
    /// Where the search index lives; `None` keeps it in memory.
    pub search_index: Option<PathBuf>,
    /// Where order emails are written as `.eml` files (the dev mailbox);
    /// `None` makes a new folder in the system's temporary directory.
    pub mail_dir: Option<PathBuf>,
    /// Share of the functions' DynamoDB transactions answered with a
    /// `TransactionConflict` cancellation, as real DynamoDB does under
    /// contention (0 = none; see [`faults`]).
    pub transaction_conflicts: f64,
    /// How long a message a worker failed stays invisible before its next
    /// try; `None` leaves it to the queue's visibility timeout, as in AWS.
    /// Tests shorten it to watch redelivery and dead-lettering.
    pub retry_delay: Option<std::time::Duration>,
    /// Run every function as its Lambda bootstrap in its own processes
    /// (`up --lambda`) instead of in this one.
    pub lambda: Option<LambdaRehearsal>,
    /// Search on OpenSearch (osmem-server) as in AWS, instead of a tantivy
    /// index in this process; the rehearsal always does.
    pub opensearch: bool,
}

/// The Lambda rehearsal's settings ([`rehearsal`]).
#[derive(Debug, Clone)]
pub struct LambdaRehearsal {
    /// Where `scripts/lambda-build` put each function's `<binary>/bootstrap`
    /// (`target/lambda`).
    pub bootstraps: PathBuf,
    /// The most instances of one function at once.
    pub concurrency: usize,
    /// Where the instances' private `/tmp` directories are made.
    pub scratch: PathBuf,
    /// The functions' roles; `None` translates template.yaml's
    /// (`iam::TemplatePolicies::translate`). Tests pass altered ones.
    pub policies: Option<iam::TemplatePolicies>,
    /// Meter what each function asks of DynamoDB, SQS and OpenSearch
    /// ([`meter`]; `Stack::meter`).
    pub meter: bool,
}

impl StackOptions {
    /// In memory, random ports, no SQS, nothing seeded: what most tests want.
    pub fn for_tests() -> Self {
        Self {
            api_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            web_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            web_dist: None,
            data_file: None,
            sqs: false,
            jwt_secret: token::DEFAULT_DEV_SECRET.to_owned(),
            seed_products: None,
            progress: false,
            search_index: None,
            mail_dir: None,
            transaction_conflicts: 0.0,
            retry_delay: None,
            lambda: None,
            opensearch: false,
        }
    }
}

/// A running stack. Call [`Stack::stop`] to shut it down cleanly.
pub struct Stack {
    pub api_url: String,
    /// The storefront's origin (`web_addr`).
    pub web_url: String,
    /// The live stock WebSocket (`ws://…/live`).
    pub live_url: String,
    pub dynamodb_url: String,
    pub sqs_url: Option<String>,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: Option<aws_sdk_sqs::Client>,
    /// Local names of the template's tables (by logical id).
    pub tables: BTreeMap<String, String>,
    /// Local queues by logical id.
    pub queues: BTreeMap<String, moto::LocalQueue>,
    pub template: Template,
    /// How many products the catalog was seeded with, if it was.
    pub seeded: Option<usize>,
    /// The functions' clock; moving it forward expires reservations.
    pub clock: Clock,
    /// The search index the `search` function reads.
    pub searcher: Arc<Searcher<AnyBackend>>,
    /// What the fault proxy injected (all zero when it is off).
    pub faults: Arc<faults::FaultCounts>,
    /// The Lambda rehearsal's instance pools by logical id (empty in process).
    pub pools: BTreeMap<String, Arc<rehearsal::Pool>>,
    /// The rehearsal's OpenSearch (none in process).
    pub opensearch: Option<osmem::Osmem>,
    /// The rehearsal's IAM: the functions' roles and what they were
    /// refused (none in process).
    pub iam: Option<Arc<iam::Enforcer>>,
    /// Where the rehearsal's functions send their DynamoDB and SQS calls:
    /// the IAM proxy, which reads who signed each from its credentials.
    pub iam_url: Option<String>,
    /// What each rehearsed function used, when the rehearsal meters.
    pub meter: Option<Arc<meter::Meter>>,
    /// dynoxide's stream table, indexed and trimmed by the runner.
    pub streams: Arc<stream_table::StreamTable>,
    /// Where the email worker writes order emails (`<eventId>.eml`).
    pub mail_dir: PathBuf,
    jwt_secret: String,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// moto's process id (it changes when the supervisor restarts it).
    moto_pid: Option<Arc<std::sync::atomic::AtomicU32>>,
    /// Where the stream mappings are (`Stack::events_drained`).
    checkpoints: Arc<pipeline::Checkpoints>,
    db: dynoxide::Database,
}

impl Stack {
    pub async fn start(options: StackOptions) -> anyhow::Result<Self> {
        let template = Template::project()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let sdk = shop_store::aws::local_sdk_config();
        let tables = LocalTables::start(&options, &template, &sdk, shutdown_rx.clone()).await?;
        let queues = LocalQueues::start(&options, &template, &sdk).await?;
        let seeded = seed::seeded_size(&tables.dynamodb, tables.shop_table()?).await?;
        let faults = FaultProxy::start(&options, &tables, &sdk, shutdown_rx.clone()).await?;
        let listeners = Listeners::bind(&options).await?;
        let clock = Clock::default();
        // The rehearsal's search functions run as in AWS, on OpenSearch.
        let opensearch = if options.lambda.is_some() || options.opensearch {
            Some(osmem::Osmem::start(&osmem::ensure_installed(&project_root()).await?).await?)
        } else {
            None
        };
        // The in-process functions' (the rehearsal's search in its processes).
        let backend = match opensearch.as_ref().filter(|_| options.opensearch) {
            Some(osmem) => AnyBackend::OpenSearch(OpenSearchBackend::new(
                &osmem.endpoint,
                shop_search::backend::DEFAULT_OPENSEARCH_INDEX,
                Signing::Unsigned,
            )?),
            None => AnyBackend::Tantivy(search_index::open(options.search_index.as_deref())?),
        };
        let searcher = Arc::new(Searcher::new(backend));

        let iam = match &options.lambda {
            Some(rehearsal) => {
                let proxy = IamProxy::start(
                    rehearsal,
                    &template,
                    &tables,
                    &queues,
                    &faults,
                    opensearch.as_ref(),
                    shutdown_rx.clone(),
                );
                Some(proxy.await?)
            }
            None => None,
        };

        let rehearsal_mail = match (&options.lambda, &queues.moto) {
            (Some(_), Some(moto)) => {
                let from = template.parameters.get("MailFrom").map_or(MAIL_FROM, String::as_str);
                Some(moto::RehearsalMail::create(&sdk, &moto.endpoint, from).await?)
            }
            _ => None,
        };

        let mail_dir = match &options.mail_dir {
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join(format!("devstack-mail-{}", ulid::Ulid::new())),
        };
        let writes = pipeline::Writes::default();
        let checkpoints = Arc::new(pipeline::Checkpoints::default());
        let wiring = Wiring {
            template: &template,
            options: &options,
            sdk: &sdk,
            tables: &tables,
            queues: &queues,
            functions_dynamodb: &faults.dynamodb,
            functions_aws_url: iam.as_ref().map(|i| i.url.as_str()),
            clock: &clock,
            searcher: &searcher,
            // push-stock answers connections through the runner's management API.
            notifier: shop_live::ApiGatewayNotifier::new(&sdk, &listeners.web_url),
            post: (
                shop_mail::Mailer::folder(&mail_dir, MAIL_FROM),
                shop_mail::Directory::Local {
                    domain: LOCAL_MAIL_DOMAIN.into(),
                },
            ),
            storefront_url: &listeners.web_url,
            opensearch_url: opensearch.as_ref().map(|o| o.endpoint.as_str()),
            metered: iam.as_ref().is_some_and(|i| i.meter.is_some()),
            rehearsal_mail: rehearsal_mail.as_ref(),
            writes: &writes,
            checkpoints: &checkpoints,
            shutdown: shutdown_rx.clone(),
        };
        let mut wired = wiring.wire_functions().await?;
        let pools = std::mem::take(&mut wired.pools);
        let mut tasks = tables.tasks;
        tasks.extend(faults.task);
        let meter = iam.as_ref().and_then(|proxy| proxy.meter.clone());
        let iam_url = iam.as_ref().map(|proxy| proxy.url.clone());
        let iam = iam.map(|proxy| {
            tasks.push(proxy.task);
            proxy.enforcer
        });
        tasks.extend(wired.tasks);
        let sqs_url = queues.moto.as_ref().map(|m| m.endpoint.clone());
        let moto_pid = match (queues.moto, &queues.sqs) {
            (Some(moto), Some(sqs)) => {
                let supervision = moto::Supervision {
                    moto,
                    server: queues.moto_server.clone().expect("moto was installed"),
                    sqs: sqs.clone(),
                    specs: template.queues.clone(),
                    queues: queues.queues.clone(),
                    checkpoints: Arc::clone(&checkpoints),
                };
                let (pid, task) = moto::supervise(supervision, shutdown_rx.clone());
                tasks.push(task);
                Some(pid)
            }
            _ => None,
        };
        tasks.push(serve(
            "the local API",
            listeners.api,
            wired.gateway.router()?,
            shutdown_rx.clone(),
        ));
        let site = web::router(
            options.web_dist.clone(),
            listeners.api_url.clone(),
            listeners.live_url.clone(),
            options.jwt_secret.clone(),
            mail_dir.clone(),
        )
        .merge(wired.live.router());
        tasks.push(serve("the local storefront", listeners.web, site, shutdown_rx));

        let mut stack = Self {
            api_url: listeners.api_url,
            web_url: listeners.web_url,
            live_url: listeners.live_url,
            dynamodb_url: tables.url,
            sqs_url,
            dynamodb: tables.dynamodb,
            sqs: queues.sqs,
            tables: tables.names,
            queues: queues.queues,
            template,
            seeded,
            clock,
            searcher,
            faults: faults.counts,
            pools,
            opensearch,
            iam,
            iam_url,
            meter,
            streams: tables.streams,
            mail_dir,
            jwt_secret: options.jwt_secret,
            shutdown,
            tasks,
            moto_pid,
            checkpoints,
            db: tables.db,
        };
        if let (Some(count), None) = (options.seed_products, stack.seeded) {
            stack.seed(count, options.progress).await?;
        } else {
            stack.reindex().await?;
        }
        Ok(stack)
    }

    /// Seeds the catalog with `count` products. SQLite's fsync per commit is
    /// switched off while the bulk load runs (a crash mid-seed only means
    /// seeding again), and set back to WAL's normal durability after.
    pub async fn seed(&mut self, count: usize, progress: bool) -> anyhow::Result<()> {
        let bulk = |on: bool| {
            if on {
                self.db.enable_bulk_loading()
            } else {
                self.db.disable_bulk_loading()
            }
        };
        bulk(true).map_err(|e| anyhow!("dynoxide bulk mode: {e}"))?;
        let seeded = seed::seed(&self.db, &self.dynamodb, self.table(), count, progress).await;
        bulk(false).map_err(|e| anyhow!("dynoxide bulk mode: {e}"))?;
        seeded?;
        self.seeded = Some(count);
        self.reindex().await?;
        Ok(())
    }

    /// Builds the search index from the table if it does not hold every
    /// product. In the rehearsal, the reindex function builds its OpenSearch
    /// index (in this process: the OpenSearch control plane it would ask for
    /// the domain is not rehearsed).
    pub async fn reindex(&self) -> anyhow::Result<()> {
        if let Some(opensearch) = &self.opensearch {
            let started = std::time::Instant::now();
            let store = shop_store::DynamoStore::new(self.dynamodb.clone(), self.table());
            let env = |name: &str| match name {
                "TABLE_NAME" => Some(self.table().to_owned()),
                "OPENSEARCH_ENDPOINT" => Some(opensearch.endpoint.clone()),
                _ => None,
            };
            let summary = rebuild_search(&env, &store, &shop_store::aws::local_sdk_config()).await?;
            tracing::info!(
                indexed = summary.indexed,
                seconds = started.elapsed().as_secs_f64(),
                "OpenSearch index built by reindex-search"
            );
            return Ok(());
        }
        let store = shop_store::DynamoStore::new(self.dynamodb.clone(), self.table());
        let categories = shop_store::catalog::CategoryReader::categories(&store).await?;
        let products: u64 = categories.iter().map(|c| c.product_count).sum();
        let started = std::time::Instant::now();
        let AnyBackend::Tantivy(index) = &self.searcher.backend else {
            unreachable!("the runner's search index is tantivy");
        };
        let indexed = search_index::ensure_built(index, &self.dynamodb, self.table(), &categories, products).await?;
        if indexed > 0 {
            tracing::info!(indexed, seconds = started.elapsed().as_secs_f64(), "search index built");
        }
        Ok(())
    }

    /// The local name of the shop's table.
    pub fn table(&self) -> &str {
        &self.tables["ShopTable"]
    }

    /// A token for `user`, optionally in the admin group, valid for an hour.
    pub fn token(&self, user: &str, admin: bool) -> String {
        let groups: &[&str] = if admin { &[shop_edge::http::ADMIN_GROUP] } else { &[] };
        token::mint(&self.jwt_secret, user, groups, std::time::Duration::from_secs(3600))
    }

    /// moto's process id, while the stack runs its event pipeline.
    pub fn moto_pid(&self) -> Option<u32> {
        self.moto_pid
            .as_ref()
            .map(|pid| pid.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Whether the event pipeline has nothing left to do: every stream
    /// mapping has read to the end of its stream, and every queue is empty
    /// (always, without SQS).
    pub async fn events_drained(&self) -> bool {
        let Some(sqs) = &self.sqs else {
            return true;
        };
        self.checkpoints.caught_up()
            && moto::drained(sqs, &moto::busiest_first(&self.template.queues, &self.queues)).await
    }

    /// Stops accepting requests, lets running ones finish, stops moto and
    /// closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                bail!("a stack task failed: {e}");
            }
        }
        if let Some(opensearch) = self.opensearch {
            opensearch.stop().await;
        }
        Ok(())
    }
}
