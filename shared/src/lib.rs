//! The storefront's shared library: what every function needs and nothing
//! that belongs to one function alone.
//!
//! - [`ids`], [`money`], [`catalog`], [`stock`]: the shop's domain types and
//!   rules, pure code that cannot hold bad values once parsed.
//! - [`problem`]: the API's error type, rendered as `application/problem+json`.
//! - [`http`]: request plumbing written once (identity, JSON bodies, query
//!   and path parameters, responses, correlation ids).
//! - [`store`]: the DynamoDB adapters behind narrow traits.
//! - [`config`], [`aws`], [`logging`]: start-up wiring for a function.

pub mod aws;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod choice;
pub mod config;
pub mod events;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod lambda;
pub mod ledger;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod money;
pub mod order;
pub mod orders;
pub mod payments;
pub mod pricing;
pub mod problem;
pub mod queue;
pub mod recommendations;
pub mod reconcile;
pub mod relay;
pub mod search;
pub mod stock;
pub mod store;
pub mod time;
