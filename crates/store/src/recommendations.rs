//! Co-purchase counts and best sellers (`docs/data-model.md`).

use super::keys::{self, CATEGORY_KEY, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, Transacted, n, retry_lost_races, s};
use crate::catalog::product_from_item;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem, Update};
use shop_domain::catalog::Product;
use shop_domain::events::OrderEvent;
use shop_domain::ids::{CategoryId, ProductId};
use shop_domain::recommendations::{Tally, tallies};
use std::collections::HashMap;
use std::future::Future;
use time::Duration;

/// Count actions per transaction, besides its marker (DynamoDB allows 100).
const ACTIONS_PER_TRANSACTION: usize = 99;
/// Markers outlive any redelivery: SQS keeps a message 4 days, its
/// dead-letter queue 14.
const MARKER_RETENTION: Duration = Duration::days(30);
/// BatchGetItem reads at most 100 keys.
const BATCH_GET: usize = 100;

impl DynamoStore {
    fn tally_action(&self, tally: &Tally, categories: &HashMap<ProductId, CategoryId>) -> Option<TransactWriteItem> {
        let update = match tally {
            Tally::Pair { product, with } => Update::builder()
                .key(PK, s(keys::also_pk(product)))
                .key(SK, s(keys::with_sk(with)))
                .update_expression("ADD #count :one SET entity = :entity")
                .expression_attribute_names("#count", "count")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":entity", s("CoPurchase")),
            // A product deleted since the order has no category to rank in.
            Tally::Sold { product, units } => Update::builder()
                .key(PK, s(keys::product_pk(product)))
                .key(SK, s(keys::SALES_SK))
                .update_expression("ADD #sold :units SET #category = :category, entity = :entity")
                .expression_attribute_names("#sold", keys::BY_CATEGORY_SALES.1)
                .expression_attribute_names("#category", CATEGORY_KEY)
                .expression_attribute_values(":units", n(*units))
                .expression_attribute_values(":category", s(categories.get(product)?.as_str()))
                .expression_attribute_values(":entity", s("ProductSales")),
        };
        let update = update
            .table_name(&self.table)
            .build()
            .expect("key and expression are set");
        Some(TransactWriteItem::builder().update(update).build())
    }
}

/// "Customers also bought": counts placed orders once, and reads them back.
pub trait CoPurchases {
    /// Adds a placed order's co-purchases and units sold, once: each
    /// transaction carries a marker that only one delivery can create.
    /// Answers how many of its transactions this call committed (0 when the
    /// order was counted before).
    fn record_order(&self, event: &OrderEvent) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Every product bought together with `id`, with the number of orders.
    fn also_bought(&self, id: &ProductId) -> impl Future<Output = Result<Vec<(ProductId, u64)>, StoreError>> + Send;

    /// The category's products by units sold, most first.
    fn best_sellers(
        &self,
        category: &CategoryId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ProductId>, StoreError>> + Send;

    /// These products, in the order given; those that do not exist are left out.
    fn products(&self, ids: &[ProductId]) -> impl Future<Output = Result<Vec<Product>, StoreError>> + Send;
}

impl CoPurchases for DynamoStore {
    /// Adds a placed order's co-purchases and units sold, once: each
    /// transaction carries a marker that only one delivery can create.
    /// Answers how many of its transactions this call committed (0 when the
    /// order was counted before).
    async fn record_order(&self, event: &OrderEvent) -> Result<usize, StoreError> {
        let tallies = tallies(&event.payload.lines);
        let mut ids: Vec<ProductId> = event.payload.lines.iter().map(|l| l.product_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let categories: HashMap<ProductId, CategoryId> = self
            .products(&ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p.category_id))
            .collect();
        let actions: Vec<TransactWriteItem> = tallies
            .iter()
            .filter_map(|tally| self.tally_action(tally, &categories))
            .collect();
        let mut committed = 0;
        for (chunk, counts) in actions.chunks(ACTIONS_PER_TRANSACTION).enumerate() {
            let marker = Item::from([
                (PK.into(), s(keys::also_order_pk(&event.order_id))),
                (SK.into(), s(keys::also_order_sk(chunk))),
                ("entity".into(), s("CoPurchaseMarker")),
                ("eventId".into(), s(&event.event_id)),
                (
                    keys::EXPIRES_AT.into(),
                    n((shop_domain::time::Now::now(self) + MARKER_RETENTION).unix_timestamp()),
                ),
            ]);
            let newly = retry_lost_races(|| {
                let mut transaction = vec![self.put_action(marker.clone(), Some("attribute_not_exists(pk)"))];
                transaction.extend_from_slice(counts);
                async move {
                    Ok::<_, StoreError>(match self.transact(transaction).await? {
                        Transacted::Committed => Some(true),
                        // The marker exists: an earlier delivery counted this part.
                        Transacted::Cancelled(failed) if failed.first() == Some(&true) => Some(false),
                        Transacted::Cancelled(_) => None,
                    })
                }
            })
            .await?;
            committed += usize::from(newly);
        }
        Ok(committed)
    }

    /// Every product bought together with `id`, with the number of orders.
    async fn also_bought(&self, id: &ProductId) -> Result<Vec<(ProductId, u64)>, StoreError> {
        let mut counts = Vec::new();
        for item in self.partition(keys::also_pk(id)).await? {
            let a = Attrs::new(&item);
            let partner = a
                .s(SK)?
                .strip_prefix(keys::WITH_SK_PREFIX)
                .and_then(|p| ProductId::parse(p).ok())
                .ok_or_else(|| a.corrupt("not a WITH# key".into()))?;
            counts.push((partner, a.n("count")?));
        }
        Ok(counts)
    }

    /// The category's products by units sold, most first.
    async fn best_sellers(&self, category: &CategoryId, limit: usize) -> Result<Vec<ProductId>, StoreError> {
        let (index, _) = keys::BY_CATEGORY_SALES;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#c = :c")
            .expression_attribute_names("#c", CATEGORY_KEY)
            .expression_attribute_values(":c", s(category.as_str()))
            .scan_index_forward(false)
            .limit(limit as i32)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(output
            .items()
            .iter()
            .filter_map(|item| match item.get(PK) {
                Some(AttributeValue::S(pk)) => keys::product_id_of_pk(pk),
                _ => None,
            })
            .collect())
    }

    /// These products, in the order given; those that do not exist are left out.
    async fn products(&self, ids: &[ProductId]) -> Result<Vec<Product>, StoreError> {
        let mut found: HashMap<ProductId, Product> = HashMap::new();
        for chunk in ids.chunks(BATCH_GET) {
            let mut keys_to_read: Vec<Item> = chunk
                .iter()
                .map(|id| Item::from([(PK.into(), s(keys::product_pk(id))), (SK.into(), s(keys::PRODUCT_SK))]))
                .collect();
            keys_to_read.dedup();
            while !keys_to_read.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys_to_read))
                    .build()
                    .expect("keys are set");
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                for item in output
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let product = product_from_item(item)?;
                    found.insert(product.id.clone(), product);
                }
                // Keys DynamoDB did not get to this time (throttling, size).
                keys_to_read = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }
}
