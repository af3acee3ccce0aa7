//! Start-up for a function running in AWS Lambda: everything a `main.rs`
//! needs besides naming its handler.

use crate::config::Config;
use crate::http::{Body, Request, Response};
use crate::store::DynamoStore;
use std::convert::Infallible;
use std::future::Future;

pub use lambda_http::Error;

/// Runs a handler in Lambda: JSON logs, the store built once per cold
/// start from the environment (`TABLE_NAME`, AWS defaults), then one call of
/// `handler` per API Gateway event.
pub async fn run<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(&'static DynamoStore, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    crate::logging::init();
    let config = Config::from_env()?;
    let sdk = crate::aws::sdk_config().await;
    // Lives as long as the execution environment; leaking it lets every
    // request borrow it without reference counting.
    let store: &'static DynamoStore = Box::leak(Box::new(DynamoStore::new(
        crate::aws::dynamodb(&sdk, None),
        config.table_name,
    )));
    lambda_http::run(lambda_http::service_fn(|req| {
        let response = handler(store, req);
        async move { Ok::<_, Infallible>(response.await) }
    }))
    .await
}
