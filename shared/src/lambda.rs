//! Start-up for a function running in AWS Lambda: everything a `main.rs`
//! needs besides naming its handler.

use crate::config::Config;
use crate::http::{Body, Request, Response};
use crate::payments::Payments;
use crate::store::DynamoStore;
use std::convert::Infallible;
use std::future::Future;

pub use lambda_http::Error;

/// JSON logs and the store, built once per cold start from the environment
/// (`TABLE_NAME`, AWS defaults). The store lives as long as the execution
/// environment; leaking it lets every invocation borrow it.
async fn start() -> Result<(&'static DynamoStore, Config), Error> {
    crate::logging::init();
    let config = Config::from_env()?;
    let sdk = crate::aws::sdk_config().await;
    let store = DynamoStore::new(crate::aws::dynamodb(&sdk, None), config.table_name.clone());
    Ok((Box::leak(Box::new(store)), config))
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

/// Runs an HTTP handler that also moves money: it gets the payment provider
/// the configuration names (`PAYMENT_PROVIDER`).
pub async fn run_with_payments<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(&'static DynamoStore, &'static Payments, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let (store, config) = start().await?;
    let payments: &'static Payments = Box::leak(Box::new(Payments::new(&config.payments, store)));
    lambda_http::run(lambda_http::service_fn(|req| {
        let response = handler(store, payments, req);
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
