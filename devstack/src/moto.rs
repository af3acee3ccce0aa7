//! SQS on moto's server (PyPI), installed on first use into the project's own
//! virtualenv and started on a free loopback port. Only SQS is used from it:
//! moto's DynamoDB is not atomic under concurrency.

use crate::template::QueueSpec;
use anyhow::{Context, anyhow, bail};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use shop_domain::report::error_chain;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Makes sure the project's virtualenv has the pinned Python tools (moto for
/// SQS among them), installing them on first use with the same script the
/// test command uses; returns the path of `moto_server`.
pub async fn ensure_installed(project_root: &Path) -> anyhow::Result<PathBuf> {
    let status = Command::new(project_root.join("scripts").join("python-tools"))
        .status()
        .await
        .context("running scripts/python-tools")?;
    let moto_server = project_root.join(".venv").join("bin").join("moto_server");
    if !status.success() || !moto_server.exists() {
        bail!("installing the Python tools into .venv failed (scripts/python-tools)");
    }
    Ok(moto_server)
}

/// A running moto server; stopped when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub async fn start(moto_server: &Path) -> anyhow::Result<Self> {
        let port = crate::free_port()?;
        let child = Command::new(moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", moto_server.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut moto = Self { child, endpoint };
        moto.wait_until_ready().await?;
        Ok(moto)
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/moto-api/", self.endpoint);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("moto exited at start-up ({status})");
            }
            if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("moto did not answer on {} within 60 s", self.endpoint)
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// A queue created locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalQueue {
    pub url: String,
    pub arn: String,
}

/// Creates the template's queues (dead-letter queues first), named by their
/// logical ids (with the `.fifo` suffix SQS requires of FIFO queues, which
/// CloudFormation adds to the names it generates too).
pub async fn create_queues(client: &Client, specs: &[QueueSpec]) -> anyhow::Result<BTreeMap<String, LocalQueue>> {
    let mut created: BTreeMap<String, LocalQueue> = BTreeMap::new();
    let mut pending: Vec<&QueueSpec> = specs.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for spec in pending {
            let target = match &spec.dead_letter {
                Some((dlq, _)) if !created.contains_key(dlq) => {
                    waiting.push(spec);
                    continue;
                }
                Some((dlq, receives)) => Some((created[dlq].arn.clone(), *receives)),
                None => None,
            };
            let queue = create_queue(client, spec, target).await?;
            created.insert(spec.logical_id.clone(), queue);
        }
        if waiting.len() == before {
            let names: Vec<&str> = waiting.iter().map(|q| q.logical_id.as_str()).collect();
            bail!("queues {names:?} name dead-letter queues that are not in the template");
        }
        pending = waiting;
    }
    Ok(created)
}

async fn create_queue(
    client: &Client,
    spec: &QueueSpec,
    dead_letter: Option<(String, u32)>,
) -> anyhow::Result<LocalQueue> {
    let fifo = spec.attributes.get("FifoQueue").is_some_and(|v| v == "true");
    let name = if fifo {
        format!("{}.fifo", spec.logical_id)
    } else {
        spec.logical_id.clone()
    };
    let mut request = client.create_queue().queue_name(name);
    for (name, value) in &spec.attributes {
        request = request.attributes(QueueAttributeName::from(name.as_str()), value);
    }
    if let Some((arn, receives)) = dead_letter {
        let policy = serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": receives });
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let url = request
        .send()
        .await
        .map_err(|e| anyhow!("creating queue {}: {}", spec.logical_id, error_chain(&e)))?
        .queue_url
        .ok_or_else(|| anyhow!("moto returned no URL for {}", spec.logical_id))?;
    let attributes = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| anyhow!("reading queue {}: {}", spec.logical_id, error_chain(&e)))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| anyhow!("moto returned no ARN for {}", spec.logical_id))?;
    Ok(LocalQueue { url, arn })
}
