//! The Lambda rehearsal (`devstack up --lambda`): every function runs as
//! its real `bootstrap` binary (`scripts/lambda-build`), in processes that
//! behave like Lambda's execution environments.
//!
//! - **A Runtime API per instance**, served here on a loopback port of its
//!   own (`AWS_LAMBDA_RUNTIME_API`), as Lambda serves one per sandbox. The
//!   instance polls `/next`, answers `/response` or `/error`, and reports
//!   `/init/error`. (Written into the runner rather than using `cargo lambda
//!   watch`: watch runs one process per function and cannot start several,
//!   cap them, time them out or give each its own `/tmp`.)
//! - **One invocation at a time per instance**; up to `concurrency`
//!   instances per function. An idle instance is reused (warm); when all are
//!   busy a new one starts (a cold start, timed from the process's start to
//!   its first `/next`); at the cap, callers wait.
//! - **The template's `Timeout`**: an invocation still running then kills
//!   its instance ("Task timed out"), and the next one starts cold.
//! - **The environment Lambda sets, plus the function's variables from
//!   template.yaml, and nothing else** from this process.
//! - **A private, empty `/tmp`** per instance: `TMPDIR`, and any variable
//!   under `/tmp`, point into the instance's own directory, removed with it.
//!
//! `docs/decisions.md` ("The Lambda rehearsal") lists what differs from
//! Lambda.

use crate::functions::Built;
use crate::template::FunctionSpec;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path as FsPath, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Lambda gives an extension-less runtime 10 s to reach its first `/next`.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// What every instance of one function is started from.
#[derive(Debug, Clone)]
pub struct Image {
    /// The function's name in Lambda (`<stack>-<LogicalId>`).
    pub name: String,
    /// `target/lambda/<binary>/bootstrap`.
    pub bootstrap: PathBuf,
    /// The function's variables from template.yaml, resolved to local
    /// values, with the endpoints and credentials its AWS calls use.
    pub variables: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub region: String,
    /// Where the instances' private `/tmp` directories are made.
    pub scratch: PathBuf,
}

/// Why an invocation has no answer.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("{function}: init failed: {reason}")]
    Init { function: String, reason: String },
    #[error("{function}: {error_type}: {message}")]
    Function {
        function: String,
        error_type: String,
        message: String,
    },
    #[error("{function}: task timed out after {seconds:.2} seconds")]
    Timeout { function: String, seconds: f64 },
    #[error("{function}: the runtime exited ({status})")]
    Exited { function: String, status: String },
    #[error("{function}: {reason}")]
    Runner { function: String, reason: String },
}

/// What the rehearsal measured of one function.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Each cold start's init: process start to the first `/next`.
    pub inits: Vec<Duration>,
    pub cold_invocations: u64,
    pub warm_invocations: u64,
    pub timeouts: u64,
    /// The first invocation's time as its caller saw it (a cold start and
    /// the handler), whatever its outcome.
    pub first_invocation: Option<Duration>,
    /// The latest event the function was invoked with, for replaying it
    /// (the benchmark's warm event invocations).
    pub last_event: Option<Bytes>,
    /// The time the instances spent on invocations, from the event's
    /// delivery to the answer (what Lambda bills, less the inits).
    pub busy: Duration,
    /// The queue messages or stream records its invocations carried.
    pub records: u64,
}

impl Stats {
    /// Cold and warm together.
    pub fn invocations(&self) -> u64 {
        self.cold_invocations + self.warm_invocations
    }
}

/// One function's instances.
pub struct Pool {
    image: Image,
    idle: Mutex<Vec<Instance>>,
    slots: Semaphore,
    started: AtomicU64,
    stats: Mutex<Stats>,
}

impl Pool {
    pub fn new(image: Image, concurrency: usize) -> Arc<Self> {
        Arc::new(Self {
            image,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(concurrency.max(1)),
            started: AtomicU64::new(0),
            stats: Mutex::new(Stats::default()),
        })
    }

    pub fn name(&self) -> &str {
        &self.image.name
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap().clone()
    }

    /// How many instances are idle (warm) now.
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap().len()
    }

    /// Invokes the function with `event` (JSON) and answers its response
    /// (JSON), as Lambda's synchronous `Invoke` does.
    pub async fn invoke(&self, event: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| self.runner("the pool is closed"))?;
        let began = Instant::now();
        let event = Bytes::from(event);
        self.stats.lock().unwrap().last_event = Some(event.clone());
        let answer = self.invoke_instance(event).await;
        self.stats
            .lock()
            .unwrap()
            .first_invocation
            .get_or_insert(began.elapsed());
        answer
    }

    async fn invoke_instance(&self, event: Bytes) -> Result<Vec<u8>, InvokeError> {
        let warm = self.idle.lock().unwrap().pop();
        let mut instance = match warm {
            Some(instance) => {
                self.stats.lock().unwrap().warm_invocations += 1;
                instance
            }
            None => {
                let instance = self.start().await?;
                self.stats.lock().unwrap().cold_invocations += 1;
                instance
            }
        };
        let (reply, answer) = oneshot::channel();
        let invocation = Invocation {
            id: ulid::Ulid::new().to_string(),
            event,
            deadline: SystemTime::now() + self.image.timeout,
            reply,
        };
        if instance.invocations.send(invocation).await.is_err() {
            return Err(self.exited(&mut instance).await);
        }
        enum Ended {
            Answered(Result<Outcome, oneshot::error::RecvError>),
            Exited(String),
            TimedOut,
        }
        let delivered = Instant::now();
        let ended = tokio::select! {
            answer = answer => Ended::Answered(answer),
            status = instance.child.wait() => {
                Ended::Exited(status.map_or_else(|e| e.to_string(), |s| s.to_string()))
            }
            () = tokio::time::sleep(self.image.timeout) => Ended::TimedOut,
        };
        self.stats.lock().unwrap().busy += delivered.elapsed();
        let outcome = match ended {
            Ended::Answered(Ok(outcome)) => outcome,
            Ended::Answered(Err(_)) => return Err(self.exited(&mut instance).await),
            Ended::Exited(status) => {
                return Err(InvokeError::Exited {
                    function: self.image.name.clone(),
                    status,
                });
            }
            Ended::TimedOut => {
                // Lambda stops the environment; the next invocation starts cold.
                drop(instance);
                self.stats.lock().unwrap().timeouts += 1;
                return Err(InvokeError::Timeout {
                    function: self.image.name.clone(),
                    seconds: self.image.timeout.as_secs_f64(),
                });
            }
        };
        self.idle.lock().unwrap().push(instance);
        match outcome {
            Outcome::Response(body) => Ok(body.to_vec()),
            Outcome::Error(body) => {
                let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let field = |name: &str| error[name].as_str().unwrap_or_default().to_owned();
                Err(InvokeError::Function {
                    function: self.image.name.clone(),
                    error_type: field("errorType"),
                    message: field("errorMessage"),
                })
            }
        }
    }

    /// Starts a new instance and stops it once its init is done, answering
    /// how long the init took (process start to its first `/next`); the
    /// benchmark's cold starts.
    pub async fn cold_start(&self) -> Result<Duration, InvokeError> {
        let started = Instant::now();
        let instance = self.start().await?;
        let init = self
            .stats
            .lock()
            .unwrap()
            .inits
            .last()
            .copied()
            .unwrap_or_else(|| started.elapsed());
        drop(instance);
        Ok(init)
    }

    /// [`Pool::invoke`] with typed events: what the gateway, the event
    /// source mappings and the schedules send.
    pub async fn call<E: Serialize, O: DeserializeOwned>(&self, event: &E) -> Result<O, InvokeError> {
        let event = serde_json::to_vec(event).map_err(|e| self.runner(format!("the event: {e}")))?;
        let answer = self.invoke(event).await?;
        serde_json::from_slice(&answer).map_err(|e| self.runner(format!("the function's answer: {e}")))
    }

    fn runner(&self, reason: impl Into<String>) -> InvokeError {
        InvokeError::Runner {
            function: self.image.name.clone(),
            reason: reason.into(),
        }
    }

    async fn exited(&self, instance: &mut Instance) -> InvokeError {
        let status = match tokio::time::timeout(Duration::from_secs(1), instance.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            _ => "its Runtime API connection closed".to_owned(),
        };
        InvokeError::Exited {
            function: self.image.name.clone(),
            status,
        }
    }

    /// Starts an instance and waits for its init: until its first `/next`,
    /// an `/init/error`, its exit, or Lambda's 10 s init limit.
    async fn start(&self) -> Result<Instance, InvokeError> {
        let number = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        let init_failed = |reason: String| InvokeError::Init {
            function: self.image.name.clone(),
            reason,
        };
        let tmp = Scratch::new(&self.image.scratch, &format!("{}-{number}", self.image.name))
            .map_err(|e| init_failed(format!("its /tmp: {e}")))?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| init_failed(format!("its Runtime API: {e}")))?;
        let port = listener.local_addr().map_err(|e| init_failed(e.to_string()))?.port();
        let (invocations, receiver) = mpsc::channel(1);
        let (ready, is_ready) = oneshot::channel();
        let api = Arc::new(RuntimeApi {
            arn: format!(
                "arn:aws:lambda:{}:000000000000:function:{}",
                self.image.region, self.image.name
            ),
            invocations: tokio::sync::Mutex::new(receiver),
            in_flight: Mutex::new(HashMap::new()),
            ready: Mutex::new(Some(ready)),
        });
        // Without Nagle's delay: an event or an answer is one small write.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, runtime_api(api)).await;
        });

        let mut command = Command::new(&self.image.bootstrap);
        command
            .env_clear()
            .envs(self.environment(port, &tmp.path, number))
            .current_dir(self.image.bootstrap.parent().unwrap_or(FsPath::new("/")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| init_failed(format!("{}: {e}", self.image.bootstrap.display())))?;
        let label = format!("{}#{number}", self.image.name);
        let tail = Tail::default();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(forward(label.clone(), out, tail.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(forward(label, err, tail.clone()));
        }
        let init = tokio::select! {
            ready = is_ready => ready.unwrap_or_else(|_| Err("the Runtime API stopped".to_owned())),
            status = child.wait() => {
                // What it printed last says why (as Lambda's init log does).
                for reader in readers {
                    let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
                }
                Err(format!(
                    "the runtime exited during init ({}): {}",
                    status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                    tail.text()
                ))
            }
            () = tokio::time::sleep(INIT_LIMIT) => Err("init took longer than 10 s".to_owned()),
        };
        init.map_err(init_failed)?;
        self.stats.lock().unwrap().inits.push(started.elapsed());
        Ok(Instance {
            child,
            invocations,
            server,
            _tmp: tmp,
        })
    }

    /// What Lambda sets for a `provided.al2023` function, then the
    /// function's own variables (a variable under `/tmp` is moved into the
    /// instance's `/tmp`).
    fn environment(&self, port: u16, tmp: &FsPath, number: u64) -> Vec<(String, String)> {
        let image = &self.image;
        let task_root = image
            .bootstrap
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let tmp_dir = tmp.display().to_string();
        let mut environment: Vec<(String, String)> = [
            ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}")),
            ("AWS_LAMBDA_FUNCTION_NAME", image.name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", image.memory_mb.to_string()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("rehearsal/{}#{number}", image.name),
            ),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
            ("AWS_REGION", image.region.clone()),
            ("AWS_DEFAULT_REGION", image.region.clone()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("LAMBDA_TASK_ROOT", task_root.clone()),
            ("LAMBDA_RUNTIME_DIR", task_root),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
            ("TMPDIR", tmp_dir.clone()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        for (name, value) in &image.variables {
            let value = match value.strip_prefix("/tmp") {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{tmp_dir}{rest}"),
                _ => value.clone(),
            };
            environment.push((name.clone(), value));
        }
        environment
    }
}

/// A running instance. Dropping it stops it: the process is killed and its
/// `/tmp` removed.
struct Instance {
    child: Child,
    invocations: mpsc::Sender<Invocation>,
    server: JoinHandle<()>,
    _tmp: Scratch,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
        let _ = self.child.start_kill();
    }
}

/// An instance's private `/tmp`, removed with it.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(root: &FsPath, name: &str) -> std::io::Result<Self> {
        let path = root.join(format!("{name}-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The last lines an instance printed.
#[derive(Clone, Default)]
struct Tail(Arc<Mutex<std::collections::VecDeque<String>>>);

impl Tail {
    const LINES: usize = 5;

    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap();
        if lines.len() == Self::LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    fn text(&self) -> String {
        let lines = self.0.lock().unwrap();
        lines.iter().cloned().collect::<Vec<_>>().join(" | ")
    }
}

/// An instance's output lines, prefixed with its name, ending when it closes.
fn forward(label: String, output: impl tokio::io::AsyncRead + Unpin + Send + 'static, tail: Tail) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{label}] {line}");
            tail.push(line);
        }
    })
}

struct Invocation {
    id: String,
    event: Bytes,
    deadline: SystemTime,
    reply: oneshot::Sender<Outcome>,
}

enum Outcome {
    Response(Bytes),
    Error(Bytes),
}

/// One instance's Lambda Runtime API.
struct RuntimeApi {
    arn: String,
    invocations: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// Told of the end of init: the first `/next`, or `/init/error`.
    ready: Mutex<Option<oneshot::Sender<Result<(), String>>>>,
}

fn runtime_api(api: Arc<RuntimeApi>) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api)
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> Response {
    if let Some(ready) = api.ready.lock().unwrap().take() {
        let _ = ready.send(Ok(()));
    }
    let Some(invocation) = api.invocations.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    api.in_flight
        .lock()
        .unwrap()
        .insert(invocation.id.clone(), invocation.reply);
    let deadline_ms = invocation
        .deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string();
    (
        [
            ("lambda-runtime-aws-request-id", invocation.id),
            ("lambda-runtime-deadline-ms", deadline_ms),
            ("lambda-runtime-invoked-function-arn", api.arn.clone()),
            ("content-type", "application/json".to_owned()),
        ],
        invocation.event,
    )
        .into_response()
}

fn finish(api: &RuntimeApi, id: &str, outcome: Outcome) -> StatusCode {
    match api.in_flight.lock().unwrap().remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(State(api): State<Arc<RuntimeApi>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&api, &id, Outcome::Response(body))
}

async fn fail(State(api): State<Arc<RuntimeApi>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&api, &id, Outcome::Error(body))
}

async fn init_error(State(api): State<Arc<RuntimeApi>>, body: Bytes) -> StatusCode {
    if let Some(ready) = api.ready.lock().unwrap().take() {
        let _ = ready.send(Err(String::from_utf8_lossy(&body).into_owned()));
    }
    StatusCode::ACCEPTED
}

/// The function as the runner invokes it, by the kind of its events in
/// template.yaml, each invocation going to `pool`. A failed invocation is
/// what Lambda makes of it: API Gateway answers 502, an SQS batch or a
/// stream batch is retried whole, a schedule's run is logged.
pub fn built(function: &FunctionSpec, websocket: bool, pool: Arc<Pool>) -> Built {
    if !function.routes.is_empty() {
        return Built::HttpEvent(via(pool, |_| 0, |_: &ApiGatewayProxyRequest| bad_gateway()));
    }
    if websocket {
        return Built::Socket(via(pool, |_| 0, |_: &ApiGatewayWebsocketProxyRequest| bad_gateway()));
    }
    if function.queue_trigger.is_some() {
        return Built::Queue(via(
            pool,
            |event| event.records.len(),
            |event: &SqsEvent| {
                let mut response = SqsBatchResponse::default();
                for message in &event.records {
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = message.message_id.clone().unwrap_or_default();
                    response.batch_item_failures.push(failure);
                }
                response
            },
        ));
    }
    if function.stream_trigger.is_some() {
        return Built::Stream(via(
            pool,
            |event| event.records.len(),
            |event: &StreamEvent| {
                let mut response = DynamoDbEventResponse::default();
                if let Some(first) = event.records.first() {
                    let mut failure = DynamoDbBatchItemFailure::default();
                    failure.item_identifier = first.change.sequence_number.clone();
                    response.batch_item_failures.push(failure);
                }
                response
            },
        ));
    }
    if function.schedule.is_some() {
        let run = via(pool, |_| 0, |_: &serde_json::Value| serde_json::Value::Null);
        return Built::Job(Arc::new(move || {
            let done = run(scheduled_event());
            Box::pin(async move {
                done.await;
            })
        }));
    }
    Built::Deploy
}

/// The event EventBridge sends a scheduled function (`rate(…)`).
pub fn scheduled_event() -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "resources": [],
        "detail": {},
    })
}

/// Invocations of `pool` with events of type `E` carrying `records(event)`
/// messages or records, answering `O`; a failed one is logged and answered
/// with `failed(event)`.
fn via<E, O>(
    pool: Arc<Pool>,
    records: fn(&E) -> usize,
    failed: impl Fn(&E) -> O + Send + Sync + 'static,
) -> Arc<dyn Fn(E) -> futures::future::BoxFuture<'static, O> + Send + Sync>
where
    E: Serialize + Send + Sync + 'static,
    O: DeserializeOwned + Send + 'static,
{
    let failed = Arc::new(failed);
    Arc::new(move |event: E| {
        let pool = Arc::clone(&pool);
        let failed = Arc::clone(&failed);
        pool.stats.lock().unwrap().records += records(&event) as u64;
        Box::pin(async move {
            match pool.call(&event).await {
                Ok(answer) => answer,
                Err(error) => {
                    tracing::warn!(%error, "the invocation failed; answered as Lambda's caller would");
                    failed(&event)
                }
            }
        })
    })
}

/// API Gateway's answer when the function fails or times out.
fn bad_gateway() -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 502;
    response.body = Some(Body::Text(r#"{"message": "Internal server error"}"#.to_owned()));
    response
}

/// Removes the variables cargo and test runners set for the process they
/// start (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, `NEXTEST_*`, ...): a cargo
/// build under them would change cargo's fingerprints and rebuild every
/// dependency. Puts the project's `.venv/bin` (cargo-lambda) first on PATH.
pub fn as_from_a_shell(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_tests = (name.starts_with("CARGO_") && name != "CARGO_HOME" && name != "CARGO_TARGET_DIR")
            || name.starts_with("NEXTEST")
            || name.starts_with("RUST_TEST")
            || name.starts_with("__CARGO")
            || name == "CARGO";
        if set_for_tests {
            command.env_remove(name.as_ref());
        }
    }
    let venv = crate::project_root().join(".venv").join("bin");
    command.env(
        "PATH",
        format!("{}:{}", venv.display(), std::env::var("PATH").unwrap_or_default()),
    )
}

/// Builds every function's bootstrap with `scripts/lambda-build` (`cargo
/// lambda build --release`; cargo-lambda comes with the project's Python
/// tools, installed on first use) and copies them into `code`, as a deploy
/// uploads them: the folder that holds `<binary>/bootstrap` for each, which
/// a later build does not touch. Cargo rebuilds only what changed.
pub async fn build_bootstraps(code: &FsPath) -> anyhow::Result<PathBuf> {
    let root = crate::project_root();
    let tools = Command::new(root.join("scripts").join("python-tools"))
        .status()
        .await
        .map_err(|e| anyhow::anyhow!("running scripts/python-tools: {e}"))?;
    anyhow::ensure!(
        tools.success(),
        "installing the Python tools into .venv failed (scripts/python-tools)"
    );
    let built = as_from_a_shell(&mut Command::new(root.join("scripts").join("lambda-build")))
        .env("LAMBDA_DEPLOY_DIR", code)
        .stdin(Stdio::null())
        .status()
        .await
        .map_err(|e| anyhow::anyhow!("running scripts/lambda-build: {e}"))?;
    anyhow::ensure!(built.success(), "building the functions failed (scripts/lambda-build)");
    Ok(code.to_owned())
}
