//! Serving a [`Function`] in AWS Lambda: everything a `main.rs` needs
//! besides naming its function.

use crate::config::Config;
use crate::function::{Cors, Extensions, Function, Init};
use crate::http::{Body, Request, Response};
use crate::logging::invocation;
use metrics_cloudwatch_embedded::Collector;
use shop_store::DynamoStore;
use std::convert::Infallible;

pub use lambda_http::Error;

/// Builds the instance once per cold start, from the process environment
/// (JSON logs, the metrics recorder, `TABLE_NAME`, AWS defaults). It lives
/// as long as the execution environment; leaking it lets every invocation
/// borrow it.
async fn start<F: Function>() -> Result<(&'static F, &'static Collector), Error> {
    crate::logging::init();
    let stack = std::env::var("STACK_NAME").map_err(|_| "STACK_NAME is not set")?;
    let metrics = crate::metrics::install(&stack)?;
    let config = Config::from_env()?;
    let sdk = shop_store::aws::sdk_config().await;
    let store = DynamoStore::new(shop_store::aws::dynamodb(&sdk, None), config.table_name.clone());
    let env = |name: &str| std::env::var(name).ok();
    let init = Init {
        env: &env,
        config: &config,
        store: &store,
        sdk: &sdk,
        provided: &Extensions::new(),
    };
    Ok((Box::leak(Box::new(F::init(&init).await?)), metrics))
}

/// Serves an HTTP function: one call per API Gateway event, its answers
/// readable by the storefront ([`Cors`]).
pub async fn serve_http<F>() -> Result<(), Error>
where
    F: Function<Event = Request, Output = Response<Body>>,
{
    let (function, metrics) = start::<Cors<F>>().await?;
    lambda_http::run(lambda_http::service_fn(|req| {
        let response = function.handle(req);
        async move {
            let response = response.await;
            crate::metrics::flush(metrics);
            Ok::<_, Infallible>(response)
        }
    }))
    .await
}

/// Serves a worker: one call per batch its event source mapping delivers
/// (SQS messages, stream records) or per WebSocket event, answering which
/// items failed or what to send back.
pub async fn serve<F>() -> Result<(), Error>
where
    F: Function,
    F::Event: serde::de::DeserializeOwned,
    F::Output: serde::Serialize,
{
    let (function, metrics) = start::<F>().await?;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(|event: lambda_http::LambdaEvent<F::Event>| {
        let answer = invocation(event.context.request_id, function.handle(event.payload));
        async move {
            let answer = answer.await;
            crate::metrics::flush(metrics);
            Ok::<_, Infallible>(answer)
        }
    }))
    .await
}

/// Serves a scheduled job: one call per EventBridge schedule event (the
/// event itself carries nothing the job needs). An error fails the
/// invocation, which shows in the function's `Errors` metric.
pub async fn serve_job<F>() -> Result<(), Error>
where
    F: Function<Event = (), Output = Result<(), Error>>,
{
    let (function, metrics) = start::<F>().await?;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        |event: lambda_http::LambdaEvent<serde_json::Value>| async move {
            let done = invocation(event.context.request_id, function.handle(())).await;
            crate::metrics::flush(metrics);
            done
        },
    ))
    .await
}

/// Serves a task: one call per invocation, with the JSON event it is sent
/// (by CloudFormation, by an operator, or by itself to go on), answering a
/// summary. An error fails the invocation; Lambda retries a failed
/// asynchronous invocation twice with the same event.
pub async fn serve_task<F, T>() -> Result<(), Error>
where
    F: Function<Output = Result<T, Error>>,
    F::Event: serde::de::DeserializeOwned,
    T: serde::Serialize,
{
    let (function, metrics) = start::<F>().await?;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        |event: lambda_http::LambdaEvent<F::Event>| async move {
            let done = invocation(event.context.request_id, function.handle(event.payload)).await;
            crate::metrics::flush(metrics);
            done
        },
    ))
    .await
}
