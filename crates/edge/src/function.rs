//! One function, described once: how an instance of it is built and what
//! it does with one event. Its `main.rs` serves it in Lambda
//! ([`crate::lambda::serve_http`], [`crate::lambda::serve`],
//! [`crate::lambda::serve_job`]); the local runner builds the same type from
//! template.yaml's environment (`devstack/src/functions.rs`). Neither wires a
//! handler by hand, so the two cannot drift apart.

use crate::config::Config;
use crate::http::{AllowedOrigin, Body, Request, Response};
use shop_store::DynamoStore;
use std::future::Future;

pub use lambda_http::Error;
pub use lambda_http::http::Extensions;

/// What an instance is built from, once (Lambda's init phase).
pub struct Init<'a> {
    /// Its environment: the process's in Lambda, template.yaml's in the runner.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The table and queues the environment names.
    pub config: &'a Config,
    /// The table, on the instance's clock.
    pub store: &'a DynamoStore,
    /// Region and credentials for any other AWS client.
    pub sdk: &'a aws_config::SdkConfig,
    /// Clients the local runner shares with its functions instead of
    /// letting each build its own from the environment (its SQS client for
    /// the emulator, its one search index, its WebSocket notifier). Empty in
    /// Lambda.
    pub provided: &'a Extensions,
}

impl Init<'_> {
    /// The variable `name`, or a configuration error naming it.
    pub fn var(&self, name: &'static str) -> Result<String, Error> {
        (self.env)(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{name} is not set").into())
    }

    /// The `T` the local runner provides, or else the one `open` builds
    /// from the environment (always, in Lambda).
    pub async fn provided_or<T, F>(&self, open: F) -> Result<T, Error>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, Error>>,
    {
        match self.provided.get::<T>() {
            Some(shared) => Ok(shared.clone()),
            None => open.await,
        }
    }
}

/// A function: an instance built once, then one call per event.
pub trait Function: Sized + Send + Sync + 'static {
    /// What one invocation receives: an API Gateway request, an SQS batch,
    /// stream records, a WebSocket event, a schedule's tick.
    type Event: Send + 'static;
    /// What it answers.
    type Output: Send + 'static;

    fn init(init: &Init<'_>) -> impl Future<Output = Result<Self, Error>>;

    fn handle(&self, event: Self::Event) -> impl Future<Output = Self::Output> + Send;
}

/// An HTTP function as both of its servers run it (Lambda's
/// [`crate::lambda::serve_http`] and the local runner): its answers may be
/// read by the storefront's pages, the origin `ALLOWED_ORIGIN` names.
pub struct Cors<F> {
    function: F,
    origin: AllowedOrigin,
}

impl<F> Function for Cors<F>
where
    F: Function<Event = Request, Output = Response<Body>>,
{
    type Event = Request;
    type Output = Response<Body>;

    async fn init(init: &Init<'_>) -> Result<Self, Error> {
        Ok(Self {
            origin: AllowedOrigin::from_lookup(init.env)?,
            function: F::init(init).await?,
        })
    }

    async fn handle(&self, req: Request) -> Response<Body> {
        let mut response = self.function.handle(req).await;
        self.origin.allow(&mut response);
        response
    }
}

/// Defines a function from its handler, in one line:
///
/// - `function!(GetProduct, Request => Response<Body>, handle)`: a function
///   whose handler needs only its store, `handle(&store, event)`;
/// - `function!(Checkout, Request => Response<Body>, handle, Payments =
///   |init| Payments::load(init.env, init.sdk, init.store).await?)`: one that also
///   needs a dependency built once per instance from its [`Init`],
///   `handle(&store, &dependency, event)`.
///
/// It defines `pub struct <Name>` and its [`Function`] impl.
#[macro_export]
macro_rules! function {
    ($name:ident, $event:ty => $output:ty, $handle:path) => {
        /// This function, as its `main.rs` and the local runner build it.
        pub struct $name {
            store: ::shop_store::DynamoStore,
        }

        impl $crate::function::Function for $name {
            type Event = $event;
            type Output = $output;

            async fn init(init: &$crate::function::Init<'_>) -> Result<Self, $crate::function::Error> {
                Ok(Self {
                    store: init.store.clone(),
                })
            }

            fn handle(&self, event: $event) -> impl ::std::future::Future<Output = $output> + Send {
                $handle(&self.store, event)
            }
        }
    };
    ($name:ident, $event:ty => $output:ty, $handle:path, $dependency:ty = |$init:ident| $make:expr) => {
        /// This function, as its `main.rs` and the local runner build it.
        pub struct $name {
            store: ::shop_store::DynamoStore,
            dependency: $dependency,
        }

        impl $crate::function::Function for $name {
            type Event = $event;
            type Output = $output;

            async fn init($init: &$crate::function::Init<'_>) -> Result<Self, $crate::function::Error> {
                let dependency: $dependency = $make;
                Ok(Self {
                    store: $init.store.clone(),
                    dependency,
                })
            }

            fn handle(&self, event: $event) -> impl ::std::future::Future<Output = $output> + Send {
                $handle(&self.store, &self.dependency, event)
            }
        }
    };
}
