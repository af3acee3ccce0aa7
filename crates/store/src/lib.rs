//! DynamoDB adapters. The shop uses one table; `docs/data-model.md` lists every
//! item type, its keys and the access patterns they serve.

pub mod aws;
pub mod cart;
pub mod catalog;
pub mod charges;
pub mod correlation;
#[cfg(feature = "testing")]
pub mod fake;
pub mod keys;
pub mod ledger;
pub mod live;
pub mod mail;
pub mod orders;
pub mod recommendations;
pub mod reviews;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::TransactWriteItem;
use shop_domain::report::error_chain;
use shop_domain::time::{Clock, Now, Timestamp};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// The shop's table; implements every store trait (`catalog::ProductReader`,
/// `cart::CartWriter`, ...), and handlers ask only for the trait they need.
/// It also carries the clock, so a handler's time comes from what it is given.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    pub(crate) clock: Clock,
}

impl DynamoStore {
    /// A store on the system clock.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            clock: Clock::default(),
        }
    }

    /// The same store on `clock` (the local runner's movable clock).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }
}

impl Now for DynamoStore {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// How often a write that lost a race with another writer is tried again.
pub const MAX_ATTEMPTS: u32 = 12;

/// How a transaction ended when DynamoDB answered.
pub(crate) enum Transacted {
    Committed,
    /// Cancelled: for each action, whether its condition failed. Lost races
    /// (`TransactionConflict`) cancel with no failed condition.
    Cancelled(Vec<bool>),
}

impl DynamoStore {
    /// Runs one TransactWriteItems; a cancellation is an answer, not an error.
    pub(crate) async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<Transacted, StoreError> {
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => return Ok(Transacted::Committed),
            Err(error) => error,
        };
        match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Ok(Transacted::Cancelled(
                cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code() == Some("ConditionalCheckFailed"))
                    .collect(),
            )),
            _ => Err(StoreError::from_sdk(error)),
        }
    }
}

/// Runs `attempt` until it decides (`Some`), at most `MAX_ATTEMPTS` times.
/// `None` means a concurrent writer won a race (a changed version, or
/// DynamoDB's `TransactionConflict`): read again and decide again, after a
/// jittered pause so that the losers do not collide again in lockstep.
pub(crate) async fn retry_lost_races<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    E: From<StoreError>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    for tries in 0..MAX_ATTEMPTS {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
        if tries + 1 < MAX_ATTEMPTS {
            tokio::time::sleep(backoff(tries)).await;
        }
    }
    tracing::warn!(attempts = MAX_ATTEMPTS, "gave up after repeatedly losing races");
    Err(StoreError::Contention { attempts: MAX_ATTEMPTS }.into())
}

impl DynamoStore {
    /// A transaction action putting `item`, optionally only if `condition` holds.
    pub(crate) fn put_action(&self, item: Item, condition: Option<&str>) -> TransactWriteItem {
        self.conditional_put(item, condition, &[])
    }

    /// A transaction action putting `item`, optionally only if `condition`
    /// holds, with the condition's placeholder `values`.
    pub(crate) fn conditional_put(
        &self,
        item: Item,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> TransactWriteItem {
        let mut put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned));
        for (name, value) in values {
            put = put.expression_attribute_values(*name, value.clone());
        }
        TransactWriteItem::builder()
            .put(put.build().expect("item is set"))
            .build()
    }

    /// Every item of one partition, read consistently (a product with its
    /// stock shards, an order with its history: small partitions, one page).
    pub(crate) async fn partition(&self, pk: String) -> Result<Vec<Item>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(output.items.unwrap_or_default())
    }
}

impl DynamoStore {
    /// One item, read consistently.
    pub(crate) async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(output.item)
    }

    /// Every item due before `before` in the GSI1 partitions `bucket(0..buckets)`.
    pub(crate) async fn due_in_buckets(
        &self,
        buckets: u32,
        bucket: fn(u32) -> String,
        before: shop_domain::time::Timestamp,
    ) -> Result<Vec<Item>, StoreError> {
        let cutoff = shop_domain::time::format(before);
        let mut due = Vec::new();
        for b in 0..buckets {
            due.extend(self.gsi1_before(&bucket(b), &cutoff).await?);
        }
        Ok(due)
    }

    /// Every item of one GSI1 partition whose sort key sorts before
    /// `cutoff`, read page by page: the due work the sweeper and the
    /// reconciler list by time (expired reservations, stale checkouts,
    /// refunds owed).
    pub(crate) async fn gsi1_before(&self, partition: &str, cutoff: &str) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :partition AND #sk < :cutoff")
            .expression_attribute_names("#pk", keys::GSI1_PK)
            .expression_attribute_names("#sk", keys::GSI1_SK)
            .expression_attribute_values(":partition", s(partition))
            .expression_attribute_values(":cutoff", s(cutoff))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<Item>, _>>()
            .await
            .map_err(StoreError::from_sdk)
    }
}

/// "Full jitter" backoff: a random pause up to 5 ms × 2^attempt (capped at 320 ms).
fn backoff(attempt: u32) -> Duration {
    let cap_ms = 5u64 << attempt.min(6);
    Duration::from_millis(rand_below(cap_ms))
}

fn rand_below(bound: u64) -> u64 {
    u64::from(ulid::Ulid::new().random() as u32) % bound.max(1)
}

/// Whether a single-item write was refused by its condition.
pub(crate) fn condition_failed<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(error, SdkError::ServiceError(service) if service.err().code() == Some("ConditionalCheckFailedException"))
}

/// A DynamoDB item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// Failures of the storage layer that a handler cannot fix by itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB did not answer, or throttled us: worth retrying later.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    /// Too many concurrent writers kept cancelling our conditional write.
    #[error("gave up after {attempts} attempts because of concurrent changes")]
    Contention { attempts: u32 },
    /// An item that does not have the shape this code writes.
    #[error("corrupt item {key}: {problem}")]
    Corrupt { key: String, problem: String },
    #[error("DynamoDB refused the request: {0}")]
    Rejected(String),
}

impl StoreError {
    /// Classifies an SDK error: transport problems, throttling and 5xx are
    /// `Unavailable`, anything else is a bug on our side.
    pub fn from_sdk<E, R>(error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let retryable_codes = [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
        ];
        match &error {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                Self::Unavailable(error_chain(&error))
            }
            SdkError::ServiceError(service) if retryable_codes.contains(&service.err().code().unwrap_or("")) => {
                Self::Unavailable(error_chain(&error))
            }
            _ => Self::Rejected(error_chain(&error)),
        }
    }
}

/// Reading typed attributes out of an item, with errors that name the item.
pub(crate) struct Attrs<'a> {
    item: &'a Item,
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(item: &'a Item) -> Self {
        Self { item }
    }

    pub(crate) fn corrupt(&self, problem: String) -> StoreError {
        let key = match (self.item.get(keys::PK), self.item.get(keys::SK)) {
            (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => format!("{pk}/{sk}"),
            _ => "(no key)".to_owned(),
        };
        StoreError::Corrupt { key, problem }
    }

    pub(crate) fn opt_s(&self, name: &str) -> Option<&'a str> {
        match self.item.get(name) {
            Some(AttributeValue::S(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_s(name)
            .ok_or_else(|| self.corrupt(format!("missing string {name}")))
    }

    pub(crate) fn n<T: std::str::FromStr>(&self, name: &str) -> Result<T, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::N(n)) => n
                .parse()
                .map_err(|_| self.corrupt(format!("{name} = {n} is out of range"))),
            _ => Err(self.corrupt(format!("missing number {name}"))),
        }
    }

    pub(crate) fn parsed<T>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T, StoreError> {
        parse(self.s(name)?).map_err(|e| self.corrupt(format!("{name}: {e}")))
    }
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
