//! The search index's deploy-time setup and its rebuild from the table
//! (AWS; `devstack reindex` runs the same code against any table and
//! domain). Three events:
//!
//! - **CloudFormation's** (the template's `SearchIndex` custom resource, on
//!   create and update): finds the domain's endpoint from its name through
//!   the OpenSearch control plane, waits while the domain is still being
//!   created or changed, creates the index with its mapping, tells
//!   CloudFormation, then rebuilds the index from the table (a stack that
//!   gains a domain may already hold a catalog).
//! - **`{"rebuild": {}}`** (an operator: `aws lambda invoke`): rebuilds the
//!   index from the table, `REINDEX_SEGMENTS` parallel scan segments at once.
//! - **`{"segment": …, "total": …, "cursor": …}`**: one segment from where it
//!   stopped. A segment that runs out of its time budget
//!   (`REINDEX_BUDGET_SECONDS`, under the function's timeout) sends itself
//!   the next piece as an asynchronous invocation, so a catalog of any size
//!   is rebuilt by invocations that each fit in Lambda's 15 minutes.
//!
//! Every write is an upsert of what the table holds now
//! (`shop_search::reindex`), so a piece that Lambda retries, or a rebuild
//! that runs while the catalog changes, leaves the same index.

use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use serde::{Deserialize, Serialize};
use shop_edge::function::{Error, Function, Init};
use shop_search::backend::{AnyBackend, BackendSettings, DEFAULT_OPENSEARCH_INDEX};
use shop_search::reindex;
use shop_store::DynamoStore;
use shop_store::catalog::{ScanCursor, ScanSegment};
use std::time::{Duration, Instant};

/// Parallel scan segments of a rebuild, unless `REINDEX_SEGMENTS` says otherwise.
pub const DEFAULT_SEGMENTS: u32 = 4;
/// How long one invocation indexes before it hands on, unless
/// `REINDEX_BUDGET_SECONDS` says otherwise.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(600);
/// How often a domain that is still processing is asked again.
const DOMAIN_POLL: Duration = Duration::from_secs(15);

/// What one invocation is asked to do.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ReindexEvent {
    Deploy(CloudFormationCustomResourceRequest),
    Segment(SegmentJob),
    Rebuild { rebuild: Rebuild },
}

/// Rebuild the whole index.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rebuild {
    /// Parallel scan segments (default `REINDEX_SEGMENTS`).
    #[serde(default)]
    pub segments: Option<u32>,
}

/// One scan segment, from `cursor` (its start if none).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentJob {
    #[serde(flatten)]
    pub segment: ScanSegment,
    #[serde(default)]
    pub cursor: Option<ScanCursor>,
}

/// What an invocation did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Products written to the index by this invocation (in process: by
    /// the whole rebuild).
    pub indexed: u64,
    /// Segments handed on to later invocations.
    pub handed_on: u32,
}

/// Where the index lives.
#[derive(Debug, Clone)]
enum Domain {
    /// Found through the control plane by the domain's name (in AWS).
    Named {
        control: aws_sdk_opensearch::Client,
        name: String,
    },
    /// A known endpoint (a local OpenSearch, or a domain outside AWS's control plane).
    Endpoint(String),
}

/// How a segment that ran out of time goes on.
#[derive(Debug, Clone)]
enum Continuation {
    /// In Lambda: an asynchronous invocation of this same function.
    Invoke {
        lambda: aws_sdk_lambda::Client,
        function: String,
    },
    /// Elsewhere (`devstack reindex`, tests): this process simply goes on.
    InProcess,
}

/// This function, as its `main.rs` (and `devstack reindex`) build it.
pub struct ReindexSearch {
    store: DynamoStore,
    domain: Domain,
    index: String,
    continuation: Continuation,
    segments: u32,
    budget: Duration,
    http: reqwest::Client,
}

impl Function for ReindexSearch {
    type Event = ReindexEvent;
    type Output = Result<Summary, Error>;

    async fn init(init: &Init<'_>) -> Result<Self, Error> {
        let var = |name: &str| (init.env)(name).filter(|v| !v.is_empty());
        let domain = match (var("SEARCH_DOMAIN_NAME"), var("OPENSEARCH_ENDPOINT")) {
            (Some(name), _) => Domain::Named {
                control: aws_sdk_opensearch::Client::new(init.sdk),
                name,
            },
            (None, Some(endpoint)) => Domain::Endpoint(endpoint),
            (None, None) => return Err("SEARCH_DOMAIN_NAME or OPENSEARCH_ENDPOINT must name the search domain".into()),
        };
        let continuation = match var("AWS_LAMBDA_FUNCTION_NAME") {
            Some(function) => Continuation::Invoke {
                lambda: aws_sdk_lambda::Client::new(init.sdk),
                function,
            },
            None => Continuation::InProcess,
        };
        let number = |name: &'static str, default: u64| -> Result<u64, Error> {
            var(name).map_or(Ok(default), |v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name}={v:?} is not a positive whole number").into())
            })
        };
        let segments = number("REINDEX_SEGMENTS", DEFAULT_SEGMENTS.into())?;
        if segments > ScanSegment::MAX_TOTAL.into() {
            return Err(format!("REINDEX_SEGMENTS may be at most {}", ScanSegment::MAX_TOTAL).into());
        }
        Ok(Self {
            store: init.store.clone(),
            domain,
            index: var("OPENSEARCH_INDEX").unwrap_or_else(|| DEFAULT_OPENSEARCH_INDEX.to_owned()),
            continuation,
            segments: segments as u32,
            budget: Duration::from_secs(number("REINDEX_BUDGET_SECONDS", DEFAULT_BUDGET.as_secs())?),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
        })
    }

    fn handle(&self, event: ReindexEvent) -> impl Future<Output = Result<Summary, Error>> + Send {
        // Boxed: the scan and the index writes nest deep inside the runtime's future.
        Box::pin(async move {
            match event {
                ReindexEvent::Deploy(request) => self.deploy(request).await,
                ReindexEvent::Rebuild { rebuild } => {
                    let backend = self.backend(None).await?;
                    // Never into an index OpenSearch would create on the first
                    // write, with mappings guessed from a document.
                    backend.ensure_index().await?;
                    self.rebuild(&backend, rebuild.segments.unwrap_or(self.segments)).await
                }
                ReindexEvent::Segment(job) => {
                    let backend = self.backend(None).await?;
                    self.run_segment(&backend, job).await
                }
            }
        })
    }
}

impl ReindexSearch {
    /// CloudFormation's request: set the index up and answer, then fill it.
    async fn deploy(&self, request: CloudFormationCustomResourceRequest) -> Result<Summary, Error> {
        let (mut response, response_url) = match &request {
            CloudFormationCustomResourceRequest::Create(r) => (
                respond_to(&r.stack_id, &r.request_id, &r.logical_resource_id, &self.index),
                &r.response_url,
            ),
            CloudFormationCustomResourceRequest::Update(r) => (
                respond_to(&r.stack_id, &r.request_id, &r.logical_resource_id, &self.index),
                &r.response_url,
            ),
            // The index goes with its domain, or is left for the operator
            // when only the index's name changed (nothing is deleted here).
            CloudFormationCustomResourceRequest::Delete(r) => {
                let response = respond_to(
                    &r.stack_id,
                    &r.request_id,
                    &r.logical_resource_id,
                    &r.physical_resource_id,
                );
                self.answer(&r.response_url, response).await?;
                return Ok(Summary::default());
            }
            _ => return Err("an unknown CloudFormation request type".into()),
        };
        // Most of the custom resource's hour is left for the domain to come up.
        let deadline = Instant::now() + Duration::from_secs(13 * 60);
        let set_up = async {
            let backend = self.backend(Some(deadline)).await?;
            backend.ensure_index().await?;
            Ok::<_, Error>(backend)
        }
        .await;
        match set_up {
            Ok(backend) => {
                response.data.insert("Index".into(), self.index.clone());
                self.answer(response_url, response).await?;
                tracing::info!(index = %self.index, "search index ready; rebuilding it from the table");
                self.rebuild(&backend, self.segments).await
            }
            Err(error) => {
                tracing::error!(%error, "setting the search index up failed");
                response.status = CloudFormationCustomResourceResponseStatus::Failed;
                response.reason = Some(format!("setting the search index up failed: {error}"));
                self.answer(response_url, response).await?;
                Err(error)
            }
        }
    }

    /// Sends CloudFormation the outcome (a PUT to the presigned URL it gave).
    async fn answer(&self, url: &str, response: CloudFormationCustomResourceResponse) -> Result<(), Error> {
        let body = serde_json::to_vec(&response)?;
        let reply = self.http.put(url).body(body).send().await?;
        if !reply.status().is_success() {
            return Err(format!("CloudFormation's response URL answered {}", reply.status()).into());
        }
        Ok(())
    }

    /// Every segment: handed on to invocations of their own in Lambda, run
    /// side by side here otherwise.
    async fn rebuild(&self, backend: &AnyBackend, segments: u32) -> Result<Summary, Error> {
        let jobs = ScanSegment::all(segments.clamp(1, ScanSegment::MAX_TOTAL))
            .map(|segment| SegmentJob { segment, cursor: None });
        let mut summary = Summary::default();
        match &self.continuation {
            Continuation::Invoke { .. } => {
                for job in jobs {
                    self.hand_on(&job).await?;
                    summary.handed_on += 1;
                }
            }
            Continuation::InProcess => {
                let runs = futures::future::join_all(jobs.map(|job| self.run_segment(backend, job))).await;
                for run in runs {
                    summary.indexed += run?.indexed;
                }
            }
        }
        Ok(summary)
    }

    /// One segment until it is done, or until the budget is spent and the
    /// rest is handed on.
    async fn run_segment(&self, backend: &AnyBackend, mut job: SegmentJob) -> Result<Summary, Error> {
        let mut summary = Summary::default();
        loop {
            let until = Instant::now() + self.budget;
            let progress = reindex::segment(&self.store, backend, job.segment, job.cursor.take(), until).await?;
            summary.indexed += progress.indexed;
            if !progress.failed.is_empty() {
                // Failing the invocation makes Lambda retry this piece.
                let failed: Vec<String> = progress.failed.iter().map(ToString::to_string).collect();
                return Err(format!("products not indexed: {}", failed.join(", ")).into());
            }
            tracing::info!(
                segment = job.segment.segment,
                indexed = summary.indexed,
                done = progress.next.is_none(),
                "reindexing"
            );
            let Some(next) = progress.next else {
                return Ok(summary);
            };
            job.cursor = Some(next);
            if let Continuation::Invoke { .. } = self.continuation {
                self.hand_on(&job).await?;
                summary.handed_on += 1;
                return Ok(summary);
            }
        }
    }

    /// Sends this function `job` as an asynchronous invocation.
    async fn hand_on(&self, job: &SegmentJob) -> Result<(), Error> {
        let Continuation::Invoke { lambda, function } = &self.continuation else {
            return Err("only a Lambda function hands work on".into());
        };
        lambda
            .invoke()
            .function_name(function)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(aws_sdk_lambda::primitives::Blob::new(serde_json::to_vec(job)?))
            .send()
            .await?;
        Ok(())
    }

    /// The index's backend; with a deadline, waits for a domain that is
    /// still being created or changed.
    async fn backend(&self, wait_until: Option<Instant>) -> Result<AnyBackend, Error> {
        let endpoint = match &self.domain {
            Domain::Endpoint(endpoint) => endpoint.clone(),
            Domain::Named { control, name } => domain_endpoint(control, name, wait_until).await?,
        };
        Ok(AnyBackend::open(&BackendSettings::OpenSearch {
            endpoint,
            index: self.index.clone(),
        })
        .await?)
    }
}

/// The endpoint of the domain `name`, from the OpenSearch control plane.
/// With a deadline, asks again while the domain is still processing (being
/// created, or changing its configuration) or has no endpoint yet.
pub async fn domain_endpoint(
    control: &aws_sdk_opensearch::Client,
    name: &str,
    wait_until: Option<Instant>,
) -> Result<String, Error> {
    loop {
        let described = control.describe_domain().domain_name(name).send().await?;
        let status = described
            .domain_status()
            .ok_or_else(|| format!("the control plane described domain {name} without its status"))?;
        if status.deleted() == Some(true) {
            return Err(format!("domain {name} is being deleted").into());
        }
        let endpoint = status
            .endpoint()
            .or_else(|| status.endpoints().and_then(|e| e.get("vpc")).map(String::as_str));
        let processing = status.processing() == Some(true);
        match endpoint {
            Some(endpoint) if !processing || wait_until.is_none() => return Ok(format!("https://{endpoint}")),
            _ => {}
        }
        match wait_until {
            Some(deadline) if Instant::now() + DOMAIN_POLL < deadline => {
                tracing::info!(domain = name, processing, "waiting for the search domain");
                tokio::time::sleep(DOMAIN_POLL).await;
            }
            _ => {
                return Err(
                    format!("domain {name} is not ready (processing: {processing}, endpoint: {endpoint:?})").into(),
                );
            }
        }
    }
}

/// A success answer to CloudFormation, until told otherwise.
fn respond_to(
    stack_id: &str,
    request_id: &str,
    logical_resource_id: &str,
    physical_resource_id: &str,
) -> CloudFormationCustomResourceResponse {
    let mut response = CloudFormationCustomResourceResponse::default();
    response.status = CloudFormationCustomResourceResponseStatus::Success;
    response.stack_id = stack_id.to_owned();
    response.request_id = request_id.to_owned();
    response.logical_resource_id = logical_resource_id.to_owned();
    response.physical_resource_id = physical_resource_id.to_owned();
    response.reason = Some("See the reindex-search function's log".to_owned());
    response
}
