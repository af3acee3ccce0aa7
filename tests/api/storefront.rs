//! The storefront in a real browser: builds the SPA, starts the whole local
//! shop (dynoxide, moto and the event pipeline, the API, the storefront
//! origin with `/config.json`, `/dev/token` and the live stock WebSocket) and
//! runs the end-to-end suite in `web/e2e` against it with `npm run e2e`
//! (playwright-core driving Debian's Chromium). Its screenshots go to
//! `test-artifacts/screenshots/`.

use devstack::{Stack, StackOptions};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `chromium` package puts the browser (`CHROMIUM_PATH` overrides).
const CHROMIUM: &str = "/usr/bin/chromium";

/// The whole suite takes well under a minute; this only stops a hang.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::test]
async fn the_storefront_works_in_a_real_browser() {
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| CHROMIUM.to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is not installed at {chromium}: run scripts/test, which installs Debian's `chromium` \
         package with apt on first use (or `apt-get install -y chromium` yourself)"
    );

    let dist = devstack::build_web()
        .await
        .expect("the storefront builds (scripts/web-build)");
    let web = devstack::project_root().join("web");
    assert!(
        web.join("node_modules").join("playwright-core").exists(),
        "web/node_modules has no playwright-core: run `npm ci` in web/ (scripts/test does)"
    );

    let stack = Stack::start(StackOptions {
        sqs: true,
        seed_products: Some(50),
        web_dist: Some(dist),
        retry_delay: Some(Duration::from_secs(1)),
        ..StackOptions::for_tests()
    })
    .await
    .expect("the stack starts");

    let started = Instant::now();
    let outcome = run_suite(&web, &stack, &chromium).await;
    let elapsed = started.elapsed();
    stack.stop().await.expect("the stack stops cleanly");

    match outcome {
        Ok(status) => assert!(
            status.success(),
            "the end-to-end suite failed ({status}) after {elapsed:.1?}; its output is above, \
             screenshots (failure-*.png on a failure) are in test-artifacts/screenshots/"
        ),
        Err(why) => panic!("{why}"),
    }
}

/// `npm run e2e` in `web/` against `stack`, its output passed through.
async fn run_suite(web: &Path, stack: &Stack, chromium: &str) -> Result<ExitStatus, String> {
    let mut child = tokio::process::Command::new("npm")
        .args(["run", "--silent", "e2e"])
        .current_dir(web)
        .env("STOREFRONT_URL", &stack.web_url)
        .env("API_URL", &stack.api_url)
        .env("ADMIN_TOKEN", stack.token("e2e-admin", true))
        .env("CHROMIUM_PATH", chromium)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        // Its own process group, so a hung run is stopped with every node and
        // Chromium process under it.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("running `npm run e2e` in web/ (needs Node.js 20 and npm): {e}"))?;
    match tokio::time::timeout(SUITE_TIMEOUT, child.wait()).await {
        Ok(status) => status.map_err(|e| format!("waiting for `npm run e2e`: {e}")),
        Err(_) => {
            if let Some(pid) = child.id() {
                let _ = tokio::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status()
                    .await;
            }
            let _ = child.kill().await;
            Err(format!("the end-to-end suite did not finish within {SUITE_TIMEOUT:?}"))
        }
    }
}
