//! Carts in DynamoDB: each line holds reserved stock, written in the same
//! transaction that takes the units from the product's stock shards.

use super::keys::{self, PK, SK};
use super::{Attrs, DynamoStore, Item, MAX_ATTEMPTS, StoreError, backoff, failed_conditions, n, s};
use crate::cart::{CartLine, MAX_LINES_PER_CART, reservation_deadline};
use crate::ids::{ProductId, UserId};
use crate::money::{Currency, Money};
use crate::stock::{self, Allocation, InsufficientStock, MAX_QUANTITY_PER_LINE, Quantity};
use crate::time::{self as clock, Timestamp};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::future::Future;

/// TTL collects a line this long after its reservation ended (the sweeper
/// has long released it by then).
const LINE_GARBAGE_AFTER: time::Duration = time::Duration::days(2);

/// Reads a shopper's cart (`GET /cart`).
pub trait CartReader {
    fn cart(&self, user: &UserId) -> impl Future<Output = Result<Vec<CartLine>, StoreError>> + Send;
}

/// Adds units of a product to a cart, reserving them (`POST /cart/items`).
pub trait CartWriter {
    fn add_to_cart(
        &self,
        user: &UserId,
        product: &ProductId,
        quantity: Quantity,
        now: Timestamp,
    ) -> impl Future<Output = Result<CartLine, CartError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("product {0} does not exist")]
    UnknownProduct(ProductId),
    #[error(transparent)]
    Insufficient(#[from] InsufficientStock),
    #[error("a cart line holds at most {MAX_QUANTITY_PER_LINE} units; this one has {in_cart}")]
    LineLimit { in_cart: i64 },
    #[error("a cart holds at most {MAX_LINES_PER_CART} different products")]
    CartFull,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn line_item(user: &UserId, line: &CartLine) -> Item {
    let until = clock::format(line.reserved_until);
    let expires = (line.reserved_until + LINE_GARBAGE_AFTER).unix_timestamp();
    let taken = line
        .taken
        .iter()
        .map(|(shard, units)| (shard.to_string(), n(units)))
        .collect();
    Item::from([
        (PK.into(), s(keys::cart_pk(user))),
        (SK.into(), s(keys::cart_line_sk(&line.product_id))),
        ("entity".into(), s("CartLine")),
        ("userId".into(), s(user.as_str())),
        ("productId".into(), s(line.product_id.as_str())),
        ("title".into(), s(&line.title)),
        ("unitAmount".into(), n(line.unit_price.amount)),
        ("currency".into(), s(line.unit_price.currency.as_str())),
        ("quantity".into(), n(line.quantity)),
        ("reservedUntil".into(), s(&until)),
        ("taken".into(), AttributeValue::M(taken)),
        ("version".into(), n(line.version)),
        (
            keys::GSI1_PK.into(),
            s(keys::reservation_bucket_pk(user, &line.product_id)),
        ),
        (
            keys::GSI1_SK.into(),
            s(keys::reservation_sk(&until, user, &line.product_id)),
        ),
        (keys::EXPIRES_AT.into(), n(expires)),
    ])
}

fn line_from_item(item: &Item) -> Result<CartLine, StoreError> {
    let a = Attrs::new(item);
    let taken = match item.get("taken") {
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(shard, units)| match (shard.parse::<u8>(), units) {
                (Ok(shard), AttributeValue::N(units)) => units.parse().map(|u| (shard, u)).ok(),
                _ => None,
            })
            .collect::<Option<Allocation>>()
            .ok_or_else(|| a.corrupt("taken is not a map of shard to units".into()))?,
        _ => return Err(a.corrupt("missing taken".into())),
    };
    Ok(CartLine {
        product_id: a.parsed("productId", |v| ProductId::parse(v))?,
        title: a.s("title")?.to_owned(),
        unit_price: Money::new(a.n("unitAmount")?, a.parsed("currency", Currency::parse)?),
        quantity: a.n("quantity")?,
        reserved_until: a.parsed("reservedUntil", clock::parse)?,
        taken,
        version: a.n("version")?,
    })
}

/// Takes `units` from a stock shard into `reserved`; fails if it holds fewer.
fn reserve_on_shard(table: &str, product: &ProductId, shard: u8, units: i64) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(keys::product_pk(product)))
        .key(SK, s(keys::stock_sk(shard)))
        .update_expression("SET available = available - :units, reserved = reserved + :units")
        .condition_expression("available >= :units")
        .expression_attribute_values(":units", n(units))
        .build()
        .expect("key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

impl DynamoStore {
    async fn cart_line(&self, user: &UserId, product: &ProductId) -> Result<Option<CartLine>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(keys::cart_pk(user)))
            .key(SK, s(keys::cart_line_sk(product)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        output.item().map(line_from_item).transpose()
    }

    /// One attempt; `Ok(None)` when a concurrent change got there first.
    async fn try_add_to_cart(
        &self,
        user: &UserId,
        product_id: &ProductId,
        quantity: Quantity,
        now: Timestamp,
    ) -> Result<Option<CartLine>, CartError> {
        let (product, shards) = self
            .product_partition(product_id)
            .await?
            .ok_or_else(|| CartError::UnknownProduct(product_id.clone()))?;
        let existing = self.cart_line(user, product_id).await?;
        let in_cart = existing.as_ref().map_or(0, |l| l.quantity);
        if in_cart + quantity.units() > MAX_QUANTITY_PER_LINE {
            return Err(CartError::LineLimit { in_cart });
        }
        let start = keys::spread(&[user.as_str()]) as usize;
        let take = stock::plan_reservation(&shards, quantity.units(), start)?;
        let line = CartLine {
            product_id: product_id.clone(),
            title: product.title.clone(),
            unit_price: product.price,
            quantity: in_cart + quantity.units(),
            reserved_until: reservation_deadline(now),
            taken: stock::merge_allocation(
                existing.as_ref().map(|l| &l.taken).unwrap_or(&Allocation::new()),
                &take,
                &Allocation::new(),
            ),
            version: existing.as_ref().map_or(1, |l| l.version + 1),
        };

        // The first action guards the cart; its index tells "cart full"
        // apart from a lost race.
        let mut actions = Vec::new();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(line_item(user, &line)));
        match &existing {
            Some(old) => {
                let put = put
                    .condition_expression("version = :v")
                    .expression_attribute_values(":v", n(old.version));
                actions.push(
                    TransactWriteItem::builder()
                        .put(put.build().expect("item is set"))
                        .build(),
                );
            }
            None => {
                let header = Update::builder()
                    .table_name(&self.table)
                    .key(PK, s(keys::cart_pk(user)))
                    .key(SK, s(keys::CART_HEADER_SK))
                    .update_expression("SET #lines = if_not_exists(#lines, :zero) + :one")
                    .condition_expression("attribute_not_exists(#lines) OR #lines < :max")
                    .expression_attribute_names("#lines", "lines")
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":max", n(MAX_LINES_PER_CART))
                    .build()
                    .expect("key and expression are set");
                actions.push(TransactWriteItem::builder().update(header).build());
                let put = put.condition_expression("attribute_not_exists(pk)");
                actions.push(
                    TransactWriteItem::builder()
                        .put(put.build().expect("item is set"))
                        .build(),
                );
            }
        }
        for (shard, units) in &take {
            actions.push(reserve_on_shard(&self.table, product_id, *shard, *units));
        }

        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(Some(line)),
            Err(error) => match failed_conditions(&error) {
                Some(failed) if existing.is_none() && failed.first() == Some(&true) => Err(CartError::CartFull),
                // A shard ran short, the line changed, or the transaction
                // conflicted: read again and decide again.
                Some(_) => Ok(None),
                None => Err(StoreError::from_sdk(error).into()),
            },
        }
    }
}

impl CartReader for DynamoStore {
    async fn cart(&self, user: &UserId) -> Result<Vec<CartLine>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :line)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(keys::cart_pk(user)))
            .expression_attribute_values(":line", s(keys::CART_LINE_SK_PREFIX))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        // A cart has at most MAX_LINES_PER_CART small lines: one page.
        output.items().iter().map(line_from_item).collect()
    }
}

impl CartWriter for DynamoStore {
    async fn add_to_cart(
        &self,
        user: &UserId,
        product: &ProductId,
        quantity: Quantity,
        now: Timestamp,
    ) -> Result<CartLine, CartError> {
        for attempt in 0..MAX_ATTEMPTS {
            if let Some(line) = self.try_add_to_cart(user, product, quantity, now).await? {
                return Ok(line);
            }
            backoff(attempt).await;
        }
        Err(StoreError::Contention { attempts: MAX_ATTEMPTS }.into())
    }
}
