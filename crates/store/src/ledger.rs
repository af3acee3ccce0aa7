//! What the ledger audit reads: the whole table, page by page, sorted into
//! stock shards, cart lines, orders, checkouts in flight and refunds owed
//! (`shop_domain::ledger` judges them).

use super::catalog::stock_from_item;
use super::keys::{self, PK, SK};
use super::orders::record_payment;
use super::{Attrs, DynamoStore, Item, StoreError};
use shop_domain::idempotency::IdempotencyKey;
use shop_domain::ids::{ProductId, UserId};
use shop_domain::ledger::{Books, HeldLine, OrderEntry};
use shop_domain::order::{Order, OrderId};
use shop_domain::payment::PaymentId;
use shop_domain::stock::StockShard;
use shop_domain::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// Items per scan page: small enough that one page never holds a
/// partition's worth of DynamoDB's 1 MB limit, large enough to be quick.
const PAGE: i32 = 500;

fn order_entry(order: &Order) -> OrderEntry {
    let mut units = BTreeMap::new();
    for line in &order.lines {
        *units.entry(line.product_id.clone()).or_default() += line.quantity;
    }
    OrderEntry {
        id: order.id.clone(),
        status: order.status,
        units,
        payment: order.payment.payment_id.clone(),
        refunded: order.payment.refund_id.is_some(),
        created_at: order.created_at,
    }
}

impl DynamoStore {
    /// Sorts one scanned item into `books`, if it is one the audit reads.
    fn enter(books: &mut Books, item: &Item) -> Result<(), StoreError> {
        let a = Attrs::new(item);
        let (Some(pk), Some(sk)) = (a.opt_s(PK), a.opt_s(SK)) else {
            return Ok(());
        };
        if sk.starts_with(keys::STOCK_SK_PREFIX) {
            let product = keys::product_id_of_pk(pk).ok_or_else(|| a.corrupt("a stock item off a product".into()))?;
            books.shards.entry(product).or_default().push(stock_from_item(item)?);
        } else if sk.starts_with(keys::CART_LINE_SK_PREFIX) {
            let line = super::cart::line_from_item(item)?;
            books.lines.push(HeldLine {
                user: a.parsed("userId", |v| UserId::parse(v))?,
                product: line.product_id,
                taken: line.taken,
            });
        } else if sk == keys::ORDER_SK {
            books.orders.push(order_entry(&super::orders::order_from_item(item)?));
        } else if sk == keys::IDEMPOTENCY_SK {
            if let Some(payment) = record_payment(item)? {
                books.checkouts_in_flight.insert(payment);
            }
        } else if sk == keys::REFUND_OWED_SK {
            books.refunds_owed.insert(a.parsed("orderId", |v| OrderId::parse(v))?);
        }
        Ok(())
    }
}

impl LedgerReader for DynamoStore {
    async fn read_books(&self, payments_since: Timestamp) -> Result<Books, StoreError> {
        let mut books = Books {
            shards: BTreeMap::new(),
            lines: Vec::new(),
            orders: Vec::new(),
            checkouts_in_flight: BTreeSet::new(),
            refunds_owed: BTreeSet::new(),
            payments: Vec::new(),
            payments_since,
        };
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .limit(PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in page.items() {
                Self::enter(&mut books, item)?;
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        for shards in books.shards.values_mut() {
            shards.sort_by_key(|s| s.shard);
        }
        Ok(books)
    }

    async fn shards_of(&self, product: &ProductId) -> Result<Vec<StockShard>, StoreError> {
        let mut shards = self
            .product_partition(product)
            .await?
            .map(|(_, shards)| shards)
            .unwrap_or_default();
        shards.sort_by_key(|s| s.shard);
        Ok(shards)
    }

    async fn order_entry(&self, id: &OrderId) -> Result<Option<OrderEntry>, StoreError> {
        let item = self.get(keys::order_pk(id), keys::ORDER_SK).await?;
        Ok(item
            .as_ref()
            .map(super::orders::order_from_item)
            .transpose()?
            .as_ref()
            .map(order_entry))
    }

    async fn refund_is_owed(&self, id: &OrderId) -> Result<bool, StoreError> {
        Ok(self
            .get(keys::refund_owed_pk(id), keys::REFUND_OWED_SK)
            .await?
            .is_some())
    }

    async fn checkout_holds(&self, user: &UserId, key: &IdempotencyKey) -> Result<Option<PaymentId>, StoreError> {
        match self.get(keys::idempotency_pk(user, key), keys::IDEMPOTENCY_SK).await? {
            Some(item) => record_payment(&item),
            None => Ok(None),
        }
    }
}

/// What the audit reads from the shop's table.
pub trait LedgerReader {
    /// Every stock shard, cart line, order, checkout in flight and refund
    /// owed, read page by page (`payments` is left empty).
    fn read_books(&self, payments_since: Timestamp) -> impl Future<Output = Result<Books, StoreError>> + Send;

    /// A product's stock shards, read consistently.
    fn shards_of(&self, product: &ProductId) -> impl Future<Output = Result<Vec<StockShard>, StoreError>> + Send;

    /// One order, read consistently.
    fn order_entry(&self, id: &OrderId) -> impl Future<Output = Result<Option<OrderEntry>, StoreError>> + Send;

    /// Whether a cancelled order's refund is owed.
    fn refund_is_owed(&self, id: &OrderId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The payment a checkout still in progress notes, if it is in progress.
    fn checkout_holds(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
    ) -> impl Future<Output = Result<Option<PaymentId>, StoreError>> + Send;
}
