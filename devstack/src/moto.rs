//! SQS on moto's server (PyPI), installed on first use into the project's own
//! virtualenv and started on a free loopback port. Only SQS is used from it:
//! moto's DynamoDB is not atomic under concurrency.
//!
//! moto runs under watch ([`supervise`]): when its process dies, it is
//! started again on the same port (so every queue URL handed out stays
//! true), the template's queues are made again, and the stream mappings
//! replay what the lost queues held.

use crate::pipeline::{Checkpoints, Delivered};
use crate::template::QueueSpec;
use anyhow::{Context, anyhow, bail};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use shop_domain::report::error_chain;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How moto's server is started: `tools/moto_server.py` (moto's own server
/// with its SQS hot paths fixed; see docs/moto.md) on the virtualenv's
/// Python.
#[derive(Debug, Clone)]
pub struct MotoServer {
    python: PathBuf,
    script: PathBuf,
}

/// Makes sure the project's virtualenv has the pinned Python tools (moto for
/// SQS among them), installing them on first use with the same script the
/// test command uses.
pub async fn ensure_installed(project_root: &Path) -> anyhow::Result<MotoServer> {
    let status = Command::new(project_root.join("scripts").join("python-tools"))
        .status()
        .await
        .context("running scripts/python-tools")?;
    let python = project_root.join(".venv").join("bin").join("python");
    if !status.success() || !python.exists() {
        bail!("installing the Python tools into .venv failed (scripts/python-tools)");
    }
    Ok(MotoServer {
        python,
        script: project_root.join("tools").join("moto_server.py"),
    })
}

/// A running moto server; stopped when dropped.
pub struct Moto {
    child: Child,
    port: u16,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto on a free port.
    pub async fn start(server: &MotoServer) -> anyhow::Result<Self> {
        Self::start_on(server, crate::free_port()?).await
    }

    async fn start_on(server: &MotoServer, port: u16) -> anyhow::Result<Self> {
        let child = Command::new(&server.python)
            .arg(&server.script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", server.script.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut moto = Self { child, port, endpoint };
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

/// How often, at most, the supervisor asks whether the queues have drained
/// (only while the stream mappings have delivered records since they last
/// did), and the longest it waits between two asks while they stay full.
const SETTLE_CHECK: Duration = Duration::from_secs(1);
const SETTLE_CHECK_LONGEST: Duration = Duration::from_secs(30);

/// What the supervisor needs to bring moto back as it was.
pub struct Supervision {
    pub moto: Moto,
    pub server: MotoServer,
    pub sqs: Client,
    pub specs: Vec<QueueSpec>,
    pub queues: BTreeMap<String, LocalQueue>,
    pub checkpoints: Arc<Checkpoints>,
}

/// Watches moto until shutdown, then stops it. The answer holds moto's
/// process id, which changes when it is restarted.
pub fn supervise(supervision: Supervision, mut shutdown: watch::Receiver<bool>) -> (Arc<AtomicU32>, JoinHandle<()>) {
    let pid = Arc::new(AtomicU32::new(supervision.moto.child.id().unwrap_or_default()));
    let task = tokio::spawn({
        let pid = Arc::clone(&pid);
        async move {
            let Supervision {
                mut moto,
                server,
                sqs,
                specs,
                queues,
                checkpoints,
            } = supervision;
            let urls = busiest_first(&specs, &queues);
            let mut wait = SETTLE_CHECK;
            let mut last_look = Delivered::new();
            loop {
                let status = tokio::select! {
                    status = moto.child.wait() => status,
                    _ = tokio::time::sleep(wait) => {
                        let unsettled = checkpoints.unsettled();
                        if unsettled.is_empty() {
                            wait = SETTLE_CHECK;
                            continue;
                        }
                        wait = if unsettled == last_look { (wait * 2).min(SETTLE_CHECK_LONGEST) } else { SETTLE_CHECK };
                        if drained(&sqs, &urls).await {
                            checkpoints.settle(unsettled.clone());
                        }
                        last_look = unsettled;
                        continue;
                    }
                    () = stopping(&mut shutdown) => {
                        moto.stop().await;
                        return;
                    }
                };
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                tracing::error!(endpoint = %moto.endpoint, %status, "moto (SQS) died; starting it again on the same port");
                let Some(back) = restart(&server, moto.port, &sqs, &specs, &queues, &mut shutdown).await else {
                    return;
                };
                moto = back;
                pid.store(moto.child.id().unwrap_or_default(), Ordering::Relaxed);
                checkpoints.rewind();
                tracing::warn!(endpoint = %moto.endpoint, "moto is back with the template's queues; the stream is replayed from the last record whose messages were consumed");
            }
        }
    });
    (pid, task)
}

/// Answers when the stack shuts down.
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Starts moto on `port` and makes the template's queues again, trying
/// until it works or the stack shuts down (`None`).
async fn restart(
    server: &MotoServer,
    port: u16,
    sqs: &Client,
    specs: &[QueueSpec],
    queues: &BTreeMap<String, LocalQueue>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Moto> {
    loop {
        let attempt = async {
            let moto = Moto::start_on(server, port).await?;
            let made = create_queues(sqs, specs).await?;
            if &made != queues {
                bail!("the queues came back with other URLs: {made:?}");
            }
            Ok::<_, anyhow::Error>(moto)
        };
        match attempt.await {
            Ok(moto) => return Some(moto),
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "moto (SQS) could not be started again; trying again in a second")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = stopping(shutdown) => return None,
        }
    }
}

/// The queues' URLs, those with a dead-letter queue first: they are the
/// ones that hold messages most of the time.
pub fn busiest_first(specs: &[QueueSpec], queues: &BTreeMap<String, LocalQueue>) -> Vec<String> {
    let mut urls: Vec<(bool, String)> = specs
        .iter()
        .map(|spec| (spec.dead_letter.is_none(), queues[&spec.logical_id].url.clone()))
        .collect();
    urls.sort();
    urls.into_iter().map(|(_, url)| url).collect()
}

/// Whether every queue is empty: nothing waiting, delayed or in flight.
/// Stops at the first queue that is not.
pub async fn drained(sqs: &Client, urls: &[String]) -> bool {
    for url in urls {
        let Ok(answer) = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
        else {
            return false;
        };
        if !answer
            .attributes()
            .is_some_and(|a| a.values().all(|count| count == "0"))
        {
            return false;
        }
    }
    true
}

/// What the rehearsal's email worker reaches in moto instead of AWS: a
/// user pool (empty: the local sign-in's users are not in it, so a shopper
/// has no address and gets no mail) and the template's sender verified in
/// SES. The in-process runner hands the worker its mail folder instead.
pub struct RehearsalMail {
    pub user_pool_id: String,
}

impl RehearsalMail {
    pub async fn create(sdk: &aws_config::SdkConfig, endpoint: &str, mail_from: &str) -> anyhow::Result<Self> {
        let config = aws_config::SdkConfig::to_builder(sdk).endpoint_url(endpoint).build();
        let pool = aws_sdk_cognitoidentityprovider::Client::new(&config)
            .create_user_pool()
            .pool_name("storefront-rehearsal")
            .send()
            .await
            .map_err(|e| anyhow!("creating the rehearsal's user pool in moto: {}", error_chain(&e)))?;
        let user_pool_id = pool
            .user_pool()
            .and_then(|p| p.id())
            .ok_or_else(|| anyhow!("moto created a user pool without an id"))?
            .to_owned();
        aws_sdk_sesv2::Client::new(&config)
            .create_email_identity()
            .email_identity(mail_from)
            .send()
            .await
            .map_err(|e| anyhow!("verifying {mail_from} in moto's SES: {}", error_chain(&e)))?;
        Ok(Self { user_pool_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tools/moto_server.py --self-test` compares its fixed hot paths with
    /// moto's own code on queues like the template's.
    #[tokio::test]
    async fn the_fixed_moto_server_agrees_with_moto() {
        let server = ensure_installed(&crate::project_root()).await.unwrap();
        let output = Command::new(&server.python)
            .arg(&server.script)
            .arg("--self-test")
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
