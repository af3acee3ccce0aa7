//! Start-up for a function running in AWS Lambda: everything a `main.rs`
//! needs besides naming its handler.

use crate::config::Config;
use crate::http::{Body, Request, Response};
use shop_store::DynamoStore;
use std::convert::Infallible;
use std::future::Future;

pub use lambda_http::Error;

/// JSON logs and the store, built once per cold start from the environment
/// (`TABLE_NAME`, AWS defaults). The store lives as long as the execution
/// environment; leaking it lets every invocation borrow it.
async fn start() -> Result<(&'static DynamoStore, Config), Error> {
    let (store, config, _) = start_with_sdk().await?;
    Ok((store, config))
}

async fn start_with_sdk() -> Result<(&'static DynamoStore, Config, aws_config::SdkConfig), Error> {
    crate::logging::init();
    let config = Config::from_env()?;
    let sdk = shop_store::aws::sdk_config().await;
    let store = DynamoStore::new(shop_store::aws::dynamodb(&sdk, None), config.table_name.clone());
    Ok((Box::leak(Box::new(store)), config, sdk))
}

/// Runs an HTTP handler in Lambda: one call per API Gateway event.
pub async fn run<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(&'static DynamoStore, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let (store, _) = start().await?;
    lambda_http::run(lambda_http::service_fn(|req| {
        let response = handler(store, req);
        async move { Ok::<_, Infallible>(response.await) }
    }))
    .await
}

/// Runs an HTTP handler that needs one more dependency besides the store
/// (the payment provider, the search index), built once per cold start by
/// `make` from the configuration.
pub async fn run_with<D, M, F, Fut>(make: M, handler: F) -> Result<(), Error>
where
    D: Send + Sync + 'static,
    M: FnOnce(&Config, &DynamoStore) -> Result<D, Error>,
    F: Fn(&'static DynamoStore, &'static D, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let (store, config) = start().await?;
    let dependency: &'static D = Box::leak(Box::new(make(&config, store)?));
    lambda_http::run(lambda_http::service_fn(|req| {
        let response = handler(store, dependency, req);
        async move { Ok::<_, Infallible>(response.await) }
    }))
    .await
}

/// Runs a scheduled job in Lambda: one call per EventBridge schedule event
/// (the event itself carries nothing the job needs).
pub async fn run_scheduled<F, Fut>(job: F) -> Result<(), Error>
where
    F: Fn(&'static DynamoStore) -> Fut,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let (store, _) = start().await?;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        |_: lambda_http::LambdaEvent<serde_json::Value>| job(store),
    ))
    .await
}

/// Runs a scheduled job that needs one more dependency besides the store
/// (the payment provider), built once per cold start by `make`.
pub async fn run_scheduled_with<D, M, F, Fut>(make: M, job: F) -> Result<(), Error>
where
    D: Send + Sync + 'static,
    M: FnOnce(&Config, &DynamoStore) -> Result<D, Error>,
    F: Fn(&'static DynamoStore, &'static D) -> Fut,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let (store, config) = start().await?;
    let dependency: &'static D = Box::leak(Box::new(make(&config, store)?));
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        |_: lambda_http::LambdaEvent<serde_json::Value>| job(store, dependency),
    ))
    .await
}

/// Runs a worker in Lambda: one call per batch its event source mapping
/// delivers (SQS messages, stream records), answering which items failed.
/// `make` builds its dependency (a queue client, the search index) once per
/// cold start.
pub async fn run_events<E, R, D, M, F, Fut>(make: M, handler: F) -> Result<(), Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    D: Send + Sync + 'static,
    M: FnOnce(&Config, &aws_config::SdkConfig) -> Result<D, Error>,
    F: Fn(&'static DynamoStore, &'static D, E) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let (store, config, sdk) = start_with_sdk().await?;
    let dependency: &'static D = Box::leak(Box::new(make(&config, &sdk)?));
    lambda_http::lambda_runtime::run(lambda_http::service_fn(|event: lambda_http::LambdaEvent<E>| {
        let answer = handler(store, dependency, event.payload);
        async move { Ok::<_, Infallible>(answer.await) }
    }))
    .await
}
