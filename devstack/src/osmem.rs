//! OpenSearch on osmem-server (PyPI): an in-memory server speaking
//! OpenSearch's REST API, for testing the OpenSearch search backend without
//! a JVM or Docker. It is installed into the project's virtualenv with the
//! other pinned Python tools (the wheel bundles a static binary) and started
//! on a free loopback port. Correct but slow (~200 ms a query at 50k
//! products): tests give it small catalogs.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Makes sure the project's virtualenv has the pinned Python tools
/// (osmem-server among them), installing them on first use with the same
/// script the test command uses; returns the path of the server binary.
pub async fn ensure_installed(project_root: &Path) -> anyhow::Result<PathBuf> {
    let status = Command::new(project_root.join("scripts").join("python-tools"))
        .status()
        .await
        .context("running scripts/python-tools")?;
    if !status.success() {
        bail!("installing the Python tools into .venv failed (scripts/python-tools)");
    }
    // The package knows where its bundled binary is (and honours
    // OSMEM_SERVER_BIN for a locally built one).
    let python = project_root.join(".venv").join("bin").join("python3");
    let output = Command::new(&python)
        .args(["-c", "import osmem_server; print(osmem_server.resolve_binary())"])
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {}", python.display()))?;
    if !output.status.success() {
        bail!(
            "osmem-server is not installed in .venv: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let binary = PathBuf::from(
        String::from_utf8(output.stdout)
            .context("the osmem-server path")?
            .trim(),
    );
    if !binary.exists() {
        bail!("osmem-server names a binary that does not exist: {}", binary.display());
    }
    Ok(binary)
}

/// A running osmem-server; stopped when dropped (and when this process
/// exits, however it exits).
pub struct Osmem {
    child: Child,
    pub endpoint: String,
}

impl Osmem {
    pub async fn start(binary: &Path) -> anyhow::Result<Self> {
        let port = crate::free_port()?;
        let child = Command::new(binary)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            // Japanese analysis is not used; it only slows the start.
            .arg("--no-ja")
            // It would stop when its standard input closes; watch this
            // process instead.
            .args(["--no-stdin-watch", "--parent-pid", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut osmem = Self { child, endpoint };
        osmem.wait_until_ready().await?;
        Ok(osmem)
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("osmem-server exited at start-up ({status})");
            }
            if client
                .get(&self.endpoint)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("osmem-server did not answer on {} within 30 s", self.endpoint)
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
