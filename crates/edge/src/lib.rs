//! The HTTP and Lambda edge: everything between API Gateway, Lambda's
//! runtime and a handler.
//!
//! - [`problem`]: the API's error type, rendered as `application/problem+json`,
//!   and the answer for each store and cart refusal.
//! - [`http`]: request plumbing written once (identity, JSON bodies, query
//!   and path parameters, responses, correlation ids).
//! - [`function`]: the one description of a function (its init and its
//!   handler) that both its `main.rs` and the local runner use.
//! - [`lambda`]: serving a function in Lambda (`serve_http`, `serve`, `serve_job`).
//! - [`queue`]: SQS batches and which messages failed.
//! - [`config`], [`logging`], [`metrics`]: environment, JSON logs, EMF metrics.

pub mod config;
pub mod function;
pub mod http;
pub mod lambda;
pub mod logging;
pub mod metrics;
pub mod problem;
pub mod queue;
#[cfg(feature = "testing")]
pub mod testing;
