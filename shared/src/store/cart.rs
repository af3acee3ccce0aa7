//! Carts in DynamoDB: each line holds reserved stock, written in the same
//! transaction that takes the units from the product's stock shards.

use super::keys::{self, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, Transacted, n, retry_lost_races, s};
use crate::cart::{CartLine, MAX_LINES_PER_CART, reservation_deadline};
use crate::ids::{ProductId, UserId};
use crate::money::{Currency, Money};
use crate::problem::ApiError;
use crate::stock::{self, Allocation, InsufficientStock, MAX_QUANTITY_PER_LINE, Quantity};
use crate::time::{self as clock, Timestamp};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use serde_json::json;
use std::future::Future;

/// TTL collects a line this long after its reservation ended (the sweeper
/// has long released it by then).
const LINE_GARBAGE_AFTER: time::Duration = time::Duration::days(2);

/// Reads a shopper's cart (`GET /cart`).
pub trait CartReader {
    fn cart(&self, user: &UserId) -> impl Future<Output = Result<Vec<CartLine>, StoreError>> + Send;
}

/// What a shopper does to one line of their cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    /// `POST /cart/items`: add units (creating the line if needed).
    Add(Quantity),
    /// `PATCH /cart/items/{productId}`: set the line's quantity.
    Set(Quantity),
    /// `DELETE /cart/items/{productId}`: remove the line.
    Remove,
}

/// Changes a cart line, reserving or releasing only the difference, and
/// renews its reservation. Returns the line, or `None` once removed.
pub trait CartWriter {
    fn change_line(
        &self,
        user: &UserId,
        product: &ProductId,
        change: LineChange,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<CartLine>, CartError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("product {0} does not exist")]
    UnknownProduct(ProductId),
    #[error("product {0} is not in the cart")]
    NotInCart(ProductId),
    #[error(transparent)]
    Insufficient(#[from] InsufficientStock),
    #[error("a cart line holds at most {MAX_QUANTITY_PER_LINE} units; this one has {in_cart}")]
    LineLimit { in_cart: i64 },
    #[error("a cart holds at most {MAX_LINES_PER_CART} different products")]
    CartFull,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The HTTP answer for each cart refusal, in one place for every cart route.
impl From<CartError> for ApiError {
    fn from(error: CartError) -> Self {
        let detail = error.to_string();
        let conflict = |code, extra| ApiError::conflict(code, detail, extra);
        match error {
            CartError::UnknownProduct(id) => ApiError::not_found("product", id),
            CartError::NotInCart(id) => ApiError::not_found("cart line", id),
            CartError::Insufficient(short) => conflict(
                "INSUFFICIENT_INVENTORY",
                json!({ "available": short.available, "requested": short.requested }),
            ),
            CartError::LineLimit { in_cart } => conflict(
                "LINE_QUANTITY_LIMIT",
                json!({ "maxPerLine": MAX_QUANTITY_PER_LINE, "inCart": in_cart }),
            ),
            CartError::CartFull => conflict("CART_FULL", json!({ "maxLines": MAX_LINES_PER_CART })),
            CartError::Store(e) => e.into(),
        }
    }
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

/// Moves `units` on a stock shard from `available` to `reserved` (a
/// reservation, refused if fewer are available) or, when negative, back
/// (a release, refused if fewer are reserved).
fn shift_reserved(table: &str, product: &ProductId, shard: u8, units: i64) -> TransactWriteItem {
    let condition = if units >= 0 {
        "available >= :guard"
    } else {
        "reserved >= :guard"
    };
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(keys::product_pk(product)))
        .key(SK, s(keys::stock_sk(shard)))
        .update_expression("SET available = available - :units, reserved = reserved + :units")
        .condition_expression(condition)
        .expression_attribute_values(":units", n(units))
        .expression_attribute_values(":guard", n(units.abs()))
        .build()
        .expect("key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// Counts a line into or out of the cart header; adding is refused once the
/// cart holds `MAX_LINES_PER_CART` lines.
fn count_line(table: &str, user: &UserId, delta: i64) -> TransactWriteItem {
    let mut update = Update::builder()
        .table_name(table)
        .key(PK, s(keys::cart_pk(user)))
        .key(SK, s(keys::CART_HEADER_SK))
        .update_expression("SET #lines = if_not_exists(#lines, :zero) + :delta")
        .expression_attribute_names("#lines", "lines")
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":delta", n(delta));
    if delta > 0 {
        update = update
            .condition_expression("attribute_not_exists(#lines) OR #lines < :max")
            .expression_attribute_values(":max", n(MAX_LINES_PER_CART));
    }
    TransactWriteItem::builder()
        .update(update.build().expect("key and expression are set"))
        .build()
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
    async fn try_change_line(
        &self,
        user: &UserId,
        product_id: &ProductId,
        change: LineChange,
        now: Timestamp,
    ) -> Result<Option<Option<CartLine>>, CartError> {
        let existing = self.cart_line(user, product_id).await?;
        let in_cart = existing.as_ref().map_or(0, |l| l.quantity);
        let wanted = match (change, &existing) {
            (LineChange::Set(_) | LineChange::Remove, None) => return Err(CartError::NotInCart(product_id.clone())),
            (LineChange::Add(q), _) => in_cart + q.units(),
            (LineChange::Set(q), _) => q.units(),
            (LineChange::Remove, _) => 0,
        };
        if wanted > MAX_QUANTITY_PER_LINE {
            return Err(CartError::LineLimit { in_cart });
        }
        let (product, shards) = self
            .product_partition(product_id)
            .await?
            .ok_or_else(|| CartError::UnknownProduct(product_id.clone()))?;
        let held = existing.as_ref().map(|l| l.taken.clone()).unwrap_or_default();
        let (take, give) = if wanted > in_cart {
            let start = keys::spread(&[user.as_str()]) as usize;
            (
                stock::plan_reservation(&shards, wanted - in_cart, start, &held)?,
                Allocation::new(),
            )
        } else {
            (Allocation::new(), stock::plan_release(&held, in_cart - wanted))
        };

        // The header comes first when a line is added, so that its index
        // tells "cart full" apart from a lost race.
        let mut actions = Vec::new();
        if existing.is_none() {
            actions.push(count_line(&self.table, user, 1));
        }
        let line = (wanted > 0).then(|| CartLine {
            product_id: product_id.clone(),
            title: product.title.clone(),
            unit_price: product.price,
            quantity: wanted,
            reserved_until: reservation_deadline(now),
            taken: stock::merge_allocation(&held, &take, &give),
            version: existing.as_ref().map_or(1, |l| l.version + 1),
        });
        let line_key = [(PK, keys::cart_pk(user)), (SK, keys::cart_line_sk(product_id))];
        match (&line, &existing) {
            (Some(line), old) => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(line_item(user, line)));
                let put = match old {
                    Some(old) => put
                        .condition_expression("version = :v")
                        .expression_attribute_values(":v", n(old.version)),
                    None => put.condition_expression("attribute_not_exists(pk)"),
                };
                actions.push(
                    TransactWriteItem::builder()
                        .put(put.build().expect("item is set"))
                        .build(),
                );
            }
            (None, Some(old)) => {
                let mut delete = Delete::builder()
                    .table_name(&self.table)
                    .condition_expression("version = :v")
                    .expression_attribute_values(":v", n(old.version));
                for (name, value) in line_key {
                    delete = delete.key(name, s(value));
                }
                actions.push(
                    TransactWriteItem::builder()
                        .delete(delete.build().expect("key is set"))
                        .build(),
                );
                actions.push(count_line(&self.table, user, -1));
            }
            (None, None) => unreachable!("a missing line is refused above"),
        }
        for (shard, units) in &take {
            actions.push(shift_reserved(&self.table, product_id, *shard, *units));
        }
        for (shard, units) in &give {
            actions.push(shift_reserved(&self.table, product_id, *shard, -units));
        }

        match self.transact(actions).await? {
            Transacted::Committed => Ok(Some(line)),
            Transacted::Cancelled(failed) if existing.is_none() && failed.first() == Some(&true) => {
                Err(CartError::CartFull)
            }
            // A shard ran short, the line changed, or the transaction
            // conflicted: read again and decide again.
            Transacted::Cancelled(_) => Ok(None),
        }
    }
}

/// Releases reservations whose time has passed (the reservation sweeper).
pub trait ReservationSweeper {
    /// Releases every line that expired before `now`; returns how many.
    fn release_expired(&self, now: Timestamp) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

impl ReservationSweeper for DynamoStore {
    /// Each bucket of GSI1 lists lines by `reservedUntil`. A release is one
    /// transaction conditional on the line being exactly as read (its
    /// version and deadline): a shopper who renewed the line, or a checkout
    /// that consumed it, wins, and the line is simply skipped.
    async fn release_expired(&self, now: Timestamp) -> Result<usize, StoreError> {
        let cutoff = clock::format(now);
        let mut released = 0;
        for bucket in 0..keys::RESERVATION_BUCKETS {
            let mut start = None;
            loop {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(keys::GSI1)
                    .key_condition_expression("#pk = :bucket AND #sk < :cutoff")
                    .expression_attribute_names("#pk", keys::GSI1_PK)
                    .expression_attribute_names("#sk", keys::GSI1_SK)
                    .expression_attribute_values(":bucket", s(format!("RESERVATIONS#{bucket:02}")))
                    .expression_attribute_values(":cutoff", s(&cutoff))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                for item in page.items() {
                    let user = Attrs::new(item).parsed("userId", |v| UserId::parse(v))?;
                    let line = line_from_item(item)?;
                    if !line.is_reserved(now) && self.release_line(&user, &line).await? {
                        released += 1;
                    }
                }
                start = page.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(released)
    }
}

impl DynamoStore {
    /// Deletes an expired line and returns its units; `false` if the line
    /// changed since it was read.
    async fn release_line(&self, user: &UserId, line: &CartLine) -> Result<bool, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(keys::cart_pk(user)))
            .key(SK, s(keys::cart_line_sk(&line.product_id)))
            .condition_expression("version = :v AND reservedUntil = :until")
            .expression_attribute_values(":v", n(line.version))
            .expression_attribute_values(":until", s(clock::format(line.reserved_until)))
            .build()
            .expect("key is set");
        let mut actions = vec![
            TransactWriteItem::builder().delete(delete).build(),
            count_line(&self.table, user, -1),
        ];
        for (shard, units) in &line.taken {
            actions.push(shift_reserved(&self.table, &line.product_id, *shard, -units));
        }
        Ok(matches!(self.transact(actions).await?, Transacted::Committed))
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
    async fn change_line(
        &self,
        user: &UserId,
        product: &ProductId,
        change: LineChange,
        now: Timestamp,
    ) -> Result<Option<CartLine>, CartError> {
        retry_lost_races(|| self.try_change_line(user, product, change, now)).await
    }
}
