//! WebSocket connections and what they watch (`docs/data-model.md`).

use super::keys::{self, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, n, s};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use shop_domain::ids::ProductId;
use shop_domain::live::Topic;
use shop_domain::order::OrderId;
use shop_domain::time::Now;
use std::collections::BTreeSet;
use std::future::Future;
use time::Duration;

/// API Gateway closes a WebSocket after two hours; TTL collects what a lost
/// `$disconnect` leaves behind.
const CONNECTION_LIFETIME: Duration = Duration::hours(2);
/// BatchWriteItem takes at most 25 requests.
const BATCH_WRITE: usize = 25;
/// The connection item's string sets of what it watches.
const PRODUCT_IDS: &str = "productIds";
const ORDER_IDS: &str = "orderIds";

impl DynamoStore {
    fn connection_item(&self, connection: &str, topics: &BTreeSet<Topic>) -> Item {
        let mut item = Item::from([
            (PK.into(), s(keys::live_connection_pk(connection))),
            (SK.into(), s(keys::LIVE_CONNECTION_SK)),
            ("entity".into(), s("LiveConnection")),
            (keys::EXPIRES_AT.into(), n(self.expiry())),
        ]);
        let mut products = Vec::new();
        let mut orders = Vec::new();
        for topic in topics {
            match topic {
                Topic::Product(id) => products.push(id.to_string()),
                Topic::Order(id) => orders.push(id.to_string()),
            }
        }
        // A string set may not be empty: an attribute with none is left out.
        for (name, ids) in [(PRODUCT_IDS, products), (ORDER_IDS, orders)] {
            if !ids.is_empty() {
                item.insert(name.into(), AttributeValue::Ss(ids));
            }
        }
        item
    }

    fn expiry(&self) -> i64 {
        (self.now() + CONNECTION_LIFETIME).unix_timestamp()
    }

    /// What the connection watches now.
    async fn watched(&self, connection: &str) -> Result<BTreeSet<Topic>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(keys::live_connection_pk(connection)))
            .key(SK, s(keys::LIVE_CONNECTION_SK))
            .send()
            .await
            .map_err(StoreError::from_sdk)?
            .item;
        let ids = |name: &str| match item.as_ref().and_then(|i| i.get(name)) {
            Some(AttributeValue::Ss(ids)) => ids.clone(),
            _ => Vec::new(),
        };
        let products = ids(PRODUCT_IDS)
            .into_iter()
            .filter_map(|id| ProductId::parse(id).ok().map(Topic::Product));
        let orders = ids(ORDER_IDS)
            .into_iter()
            .filter_map(|id| OrderId::parse(id).ok().map(Topic::Order));
        Ok(products.chain(orders).collect())
    }

    async fn batch_write(&self, writes: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in writes.chunks(BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            while !pending.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                pending = output
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}

/// The WebSocket connections of open storefront pages and the topics
/// (products, orders) each one watches (`shop-live`).
pub trait LiveConnections {
    /// Records a new connection (watching nothing yet).
    fn connect(&self, connection: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Makes `topics` the connection's whole subscription: one `WATCH#`
    /// item per topic, so a change finds its watchers with one query.
    fn subscribe(
        &self,
        connection: &str,
        topics: &BTreeSet<Topic>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets a connection and everything it watched.
    fn disconnect(&self, connection: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets a connection API Gateway says is gone, starting with the
    /// watch that led to it (its connection item may not list it).
    fn forget(&self, connection: &str, topic: &Topic) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The connections watching `topic`.
    fn watchers(&self, topic: &Topic) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

impl LiveConnections for DynamoStore {
    /// Records a new connection (watching nothing yet).
    async fn connect(&self, connection: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.connection_item(connection, &BTreeSet::new())))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Makes `topics` the connection's whole subscription: one `WATCH#`
    /// item per topic, so a change finds its watchers with one query.
    async fn subscribe(&self, connection: &str, topics: &BTreeSet<Topic>) -> Result<(), StoreError> {
        let before = self.watched(connection).await?;
        let mut writes: Vec<WriteRequest> = before
            .difference(topics)
            .map(|topic| {
                let delete = DeleteRequest::builder()
                    .key(PK, s(keys::watch_pk(topic)))
                    .key(SK, s(keys::watch_sk(connection)))
                    .build()
                    .expect("key is set");
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect();
        for topic in topics {
            let watch = Item::from([
                (PK.into(), s(keys::watch_pk(topic))),
                (SK.into(), s(keys::watch_sk(connection))),
                ("entity".into(), s("LiveWatch")),
                (keys::EXPIRES_AT.into(), n(self.expiry())),
            ]);
            let put = PutRequest::builder()
                .set_item(Some(watch))
                .build()
                .expect("item is set");
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        writes.push(
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(self.connection_item(connection, topics)))
                        .build()
                        .expect("item is set"),
                )
                .build(),
        );
        self.batch_write(writes).await
    }

    /// Forgets a connection and everything it watched.
    async fn disconnect(&self, connection: &str) -> Result<(), StoreError> {
        let watched = self.watched(connection).await?;
        let delete = |pk: String, sk: String| {
            let request = DeleteRequest::builder()
                .key(PK, s(pk))
                .key(SK, s(sk))
                .build()
                .expect("key is set");
            WriteRequest::builder().delete_request(request).build()
        };
        let mut writes: Vec<WriteRequest> = watched
            .iter()
            .map(|topic| delete(keys::watch_pk(topic), keys::watch_sk(connection)))
            .collect();
        writes.push(delete(
            keys::live_connection_pk(connection),
            keys::LIVE_CONNECTION_SK.to_owned(),
        ));
        self.batch_write(writes).await
    }

    /// Forgets a connection API Gateway says is gone, starting with the
    /// watch that led to it (its connection item may not list it).
    async fn forget(&self, connection: &str, topic: &Topic) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(keys::watch_pk(topic)))
            .key(SK, s(keys::watch_sk(connection)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        self.disconnect(connection).await
    }

    /// The connections watching `topic`.
    async fn watchers(&self, topic: &Topic) -> Result<Vec<String>, StoreError> {
        let now = self.now().unix_timestamp();
        self.partition(keys::watch_pk(topic))
            .await?
            .iter()
            .filter(|item| Attrs::new(item).n::<i64>(keys::EXPIRES_AT).is_ok_and(|at| at > now))
            .map(|item| {
                let a = Attrs::new(item);
                a.s(SK)?
                    .strip_prefix(keys::WATCH_SK_PREFIX)
                    .map(str::to_owned)
                    .ok_or_else(|| a.corrupt("not a CONN# key".into()))
            })
            .collect()
    }
}
