//! The Lambda shape is real: a function binary runs under `cargo lambda
//! watch` (the Lambda runtime API emulator) and answers an API Gateway REST
//! event, talking to dynoxide through the AWS SDK's endpoint variables.

use crate::helpers::TestApp;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

fn venv_bin() -> PathBuf {
    devstack::project_root().join(".venv").join("bin")
}

/// `cargo lambda` with the environment a developer's shell would give it:
/// the variables cargo and the test runner set for a test (CARGO_PKG_*,
/// CARGO_MANIFEST_DIR, NEXTEST_*, ...) would change cargo's fingerprints and
/// rebuild every dependency twice.
fn cargo_lambda() -> Command {
    let mut command = Command::new("cargo");
    command.arg("lambda").current_dir(devstack::project_root());
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
    command.env(
        "PATH",
        format!("{}:{}", venv_bin().display(), std::env::var("PATH").unwrap_or_default()),
    );
    command
}

#[tokio::test]
async fn get_product_answers_an_api_gateway_event_in_the_lambda_runtime() {
    assert!(
        venv_bin().join("cargo-lambda").exists(),
        "cargo-lambda is missing from .venv: the test command (scripts/test) installs it"
    );
    let app = TestApp::seeded(3).await;
    let port = devstack::free_port().unwrap();
    let env = [
        format!("TABLE_NAME={}", app.stack.table()),
        format!("AWS_ENDPOINT_URL_DYNAMODB={}", app.stack.dynamodb_url),
        "AWS_REGION=us-east-1".to_owned(),
        "AWS_ACCESS_KEY_ID=local".to_owned(),
        "AWS_SECRET_ACCESS_KEY=local".to_owned(),
        "AWS_EC2_METADATA_DISABLED=true".to_owned(),
    ];
    let mut watch = cargo_lambda();
    watch
        .args(["watch", "--package", "get-product", "--ignore-changes"])
        .args(["--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for var in &env {
        watch.args(["--env-var", var]);
    }
    let mut watch = watch.spawn().expect("cargo lambda watch starts");

    // The first invocation compiles the function; keep trying until it answers.
    let fixture = devstack::project_root().join("tests/fixtures/apigw-get-product.json");
    let deadline = Instant::now() + Duration::from_secs(600);
    let output = loop {
        let output = cargo_lambda()
            .args(["invoke", "get-product", "--output-format", "json"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
            .arg("--data-file")
            .arg(&fixture)
            .output()
            .await
            .expect("cargo lambda invoke runs");
        if output.status.success() {
            break output;
        }
        assert!(
            Instant::now() < deadline,
            "no answer: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let _ = watch.start_kill();
    let _ = watch.wait().await;

    let response: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON API Gateway response");
    assert_eq!(response["statusCode"], 200, "{response}");
    // lambda_http answers a REST API event with multi-value headers.
    assert_eq!(response["multiValueHeaders"]["content-type"][0], "application/json");
    assert_eq!(
        response["multiValueHeaders"]["x-correlation-id"][0],
        "lambda-runtime-test-1"
    );
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["productId"], "P0000001");
    assert_eq!(body["title"], devstack::seed::product(1).0.title);
    app.stop().await;
}
