//! The shop's domain: its types and rules as pure code, with no AWS, HTTP
//! or async runtime. Values that parse cannot hold bad data.
//!
//! - [`ids`], [`money`], [`time`], [`choice`]: the vocabulary.
//! - [`catalog`], [`stock`], [`pricing`], [`cart`], [`order`]: products,
//!   units on hand and held, prices and totals, cart lines, orders, their
//!   status changes, and why a checkout can refuse.
//! - [`idempotency`]: what a repeated checkout key means.
//! - [`payment`]: what a payment is, whoever moves the money.
//! - [`ledger`]: whether stock and money add up.
//! - [`events`]: the messages between services.
//! - [`recommendations`]: what an order adds to "customers also bought".
//! - [`review`]: reviews, who may write one, and a product's rating.
//! - [`mail`]: the order emails and what they say.
//! - [`validation`], [`settings`], [`report`]: invalid input, invalid
//!   configuration, errors as text.

pub mod cart;
pub mod catalog;
pub mod choice;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod ledger;
pub mod live;
pub mod mail;
pub mod money;
pub mod order;
pub mod payment;
pub mod pricing;
pub mod recommendations;
pub mod report;
pub mod review;
pub mod settings;
pub mod stock;
pub mod time;
pub mod validation;
