//! WebSocket connections and what they watch (`docs/data-model.md`).

use super::keys::{self, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, n, s};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use shop_domain::ids::ProductId;
use shop_domain::time::Now;
use std::collections::BTreeSet;
use std::future::Future;
use time::Duration;

/// API Gateway closes a WebSocket after two hours; TTL collects what a lost
/// `$disconnect` leaves behind.
const CONNECTION_LIFETIME: Duration = Duration::hours(2);
/// BatchWriteItem takes at most 25 requests.
const BATCH_WRITE: usize = 25;

impl DynamoStore {
    fn connection_item(&self, connection: &str, products: &BTreeSet<ProductId>) -> Item {
        let mut item = Item::from([
            (PK.into(), s(keys::live_connection_pk(connection))),
            (SK.into(), s(keys::LIVE_CONNECTION_SK)),
            ("entity".into(), s("LiveConnection")),
            (keys::EXPIRES_AT.into(), n(self.expiry())),
        ]);
        if !products.is_empty() {
            item.insert(
                "productIds".into(),
                AttributeValue::Ss(products.iter().map(ToString::to_string).collect()),
            );
        }
        item
    }

    fn expiry(&self) -> i64 {
        (self.now() + CONNECTION_LIFETIME).unix_timestamp()
    }

    /// What the connection watches now.
    async fn watched(&self, connection: &str) -> Result<BTreeSet<ProductId>, StoreError> {
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
        Ok(match item.as_ref().and_then(|i| i.get("productIds")) {
            Some(AttributeValue::Ss(ids)) => ids.iter().filter_map(|id| ProductId::parse(id).ok()).collect(),
            _ => BTreeSet::new(),
        })
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

/// The WebSocket connections of open storefront pages and the products
/// each one watches (`shop-live`).
pub trait LiveConnections {
    /// Records a new connection (watching nothing yet).
    fn connect(&self, connection: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Makes `products` the connection's whole subscription: one `WATCH#`
    /// item per product, so a stock change finds its watchers with one query.
    fn subscribe(
        &self,
        connection: &str,
        products: &BTreeSet<ProductId>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets a connection and everything it watched.
    fn disconnect(&self, connection: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets a connection API Gateway says is gone, starting with the
    /// watch that led to it (its connection item may not list it).
    fn forget(&self, connection: &str, product: &ProductId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The connections watching `product`.
    fn watchers(&self, product: &ProductId) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
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

    /// Makes `products` the connection's whole subscription: one `WATCH#`
    /// item per product, so a stock change finds its watchers with one query.
    async fn subscribe(&self, connection: &str, products: &BTreeSet<ProductId>) -> Result<(), StoreError> {
        let before = self.watched(connection).await?;
        let mut writes: Vec<WriteRequest> = before
            .difference(products)
            .map(|id| {
                let delete = DeleteRequest::builder()
                    .key(PK, s(keys::watch_pk(id)))
                    .key(SK, s(keys::watch_sk(connection)))
                    .build()
                    .expect("key is set");
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect();
        for id in products {
            let watch = Item::from([
                (PK.into(), s(keys::watch_pk(id))),
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
                        .set_item(Some(self.connection_item(connection, products)))
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
            .map(|id| delete(keys::watch_pk(id), keys::watch_sk(connection)))
            .collect();
        writes.push(delete(
            keys::live_connection_pk(connection),
            keys::LIVE_CONNECTION_SK.to_owned(),
        ));
        self.batch_write(writes).await
    }

    /// Forgets a connection API Gateway says is gone, starting with the
    /// watch that led to it (its connection item may not list it).
    async fn forget(&self, connection: &str, product: &ProductId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(keys::watch_pk(product)))
            .key(SK, s(keys::watch_sk(connection)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        self.disconnect(connection).await
    }

    /// The connections watching `product`.
    async fn watchers(&self, product: &ProductId) -> Result<Vec<String>, StoreError> {
        let now = self.now().unix_timestamp();
        self.partition(keys::watch_pk(product))
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
