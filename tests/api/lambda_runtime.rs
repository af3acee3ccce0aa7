//! The Lambda shape is real: get-product's `bootstrap`, as `cargo lambda
//! build` makes it for deployment, polls the Lambda runtime API (served by
//! `cargo lambda watch --only-lambda-apis`) with nothing in its environment
//! but what Lambda would give it, and answers an API Gateway REST event,
//! talking to dynoxide through the AWS SDK's endpoint variables.

use crate::helpers::TestApp;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

fn venv_bin() -> PathBuf {
    devstack::project_root().join(".venv").join("bin")
}

/// `cargo lambda` with the environment a developer's shell would give it.
fn cargo_lambda() -> Command {
    let mut command = Command::new("cargo");
    devstack::rehearsal::as_from_a_shell(command.arg("lambda").current_dir(devstack::project_root()));
    command
}

/// The bootstrap `scripts/lambda-build` makes for `function`, built now if
/// it is not up to date (the test command runs the same script before the
/// tests, so here cargo finds nothing to do), copied into `code`.
async fn bootstrap(code: &tempfile::TempDir, function: &str) -> PathBuf {
    devstack::rehearsal::build_bootstraps(code.path())
        .await
        .expect("scripts/lambda-build builds every function")
        .join(function)
        .join("bootstrap")
}

#[tokio::test]
async fn get_product_answers_an_api_gateway_event_in_the_lambda_runtime() {
    assert!(
        venv_bin().join("cargo-lambda").exists(),
        "cargo-lambda is missing from .venv: the test command (scripts/test) installs it"
    );
    let code = tempfile::tempdir().unwrap();
    let bootstrap = bootstrap(&code, "get-product").await;
    let app = TestApp::seeded(3).await;
    let port = devstack::free_port().unwrap();
    let mut apis = cargo_lambda();
    apis.args(["watch", "--only-lambda-apis"])
        .args(["--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut apis = apis.spawn().expect("cargo lambda watch starts");
    // The bootstrap exits if the runtime API is not there when it starts, as
    // it would in Lambda: start it once the API listens.
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "the runtime API never listened");
        assert!(apis.try_wait().unwrap().is_none(), "cargo lambda watch exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // What Lambda sets for a function (template.yaml's Globals: 256 MB),
    // plus the function's own variables; nothing from this process.
    let mut function = Command::new(&bootstrap);
    function
        .env_clear()
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt/get-product"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "get-product")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("TABLE_NAME", app.stack.table())
        .env("ALLOWED_ORIGIN", "https://shop.example.com")
        .env("STACK_NAME", "storefront-test")
        .env("AWS_ENDPOINT_URL_DYNAMODB", &app.stack.dynamodb_url)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut function = function.spawn().expect("the bootstrap starts");

    // Keep trying until the function has polled for the event and answered.
    let fixture = devstack::project_root().join("tests/fixtures/apigw-get-product.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    let output = loop {
        assert!(
            function.try_wait().unwrap().is_none(),
            "the bootstrap exited before answering"
        );
        let invoke = cargo_lambda()
            .args(["invoke", "get-product", "--output-format", "json"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
            .arg("--data-file")
            .arg(&fixture)
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(30), invoke)
            .await
            .expect("an invocation answers within 30 s")
            .expect("cargo lambda invoke runs");
        if output.status.success() {
            break output;
        }
        assert!(
            Instant::now() < deadline,
            "no answer: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = function.start_kill();
    let _ = apis.start_kill();
    let _ = function.wait().await;
    let _ = apis.wait().await;
    let response: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON API Gateway response");
    assert_eq!(response["statusCode"], 200, "{response}");
    // lambda_http answers a REST API event with multi-value headers.
    assert_eq!(response["multiValueHeaders"]["content-type"][0], "application/json");
    assert_eq!(
        response["multiValueHeaders"]["x-correlation-id"][0],
        "lambda-runtime-test-1"
    );
    assert_eq!(
        response["multiValueHeaders"]["access-control-allow-origin"][0],
        "https://shop.example.com"
    );
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["productId"], "P0000001");
    assert_eq!(body["title"], devstack::seed::product(1).0.title);
    app.stop().await;
}
