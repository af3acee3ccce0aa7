//! Carts in DynamoDB: each line holds reserved stock, written in the same
//! transaction that takes the units from the product's stock shards.

use super::keys::{self, PK, SK};
use super::keys::{HOLD_PREFIX, hold_attribute};
use super::{Attrs, DynamoStore, Item, StoreError, Transacted, correlation, n, retry_lost_races, s};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use shop_domain::cart::{self, CartLine, Hold, LineToken, MAX_LINES_PER_CART, reservation_deadline};
use shop_domain::ids::{ProductId, UserId};
use shop_domain::money::{Currency, Money};
use shop_domain::stock::{self, Allocation, InsufficientStock, MAX_QUANTITY_PER_LINE, Quantity};
use shop_domain::time::{self as clock, Timestamp};
use std::collections::BTreeMap;
use std::future::Future;

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
    #[error(
        "you have held {product} for the longest time a shopper may ({} minutes); it is on sale to others until {}",
        cart::MAX_HOLD.whole_minutes(),
        clock::format(*until)
    )]
    HoldSpent { product: ProductId, until: Timestamp },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The item a cart line is stored as (with its reservation listing's GSI1
/// keys). Public so that `bench cart` writes the same item in its bare
/// transactions.
pub fn line_item(user: &UserId, line: &CartLine) -> Item {
    let until = clock::format(line.reserved_until);
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
        ("heldSince".into(), s(clock::format(line.held_since))),
        ("taken".into(), AttributeValue::M(taken)),
        ("token".into(), s(line.token.as_str())),
        (
            keys::GSI1_PK.into(),
            s(keys::reservation_bucket_pk(user, &line.product_id)),
        ),
        (
            keys::GSI1_SK.into(),
            s(keys::reservation_sk(&until, user, &line.product_id)),
        ),
        // No TTL: a line holds units, and only a release may delete it
        // (TTL would drop the line and leave its units reserved for good).
    ])
}

pub(crate) fn line_from_item(item: &Item) -> Result<CartLine, StoreError> {
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
        held_since: a.parsed("heldSince", clock::parse)?,
        taken,
        token: LineToken::from_stored(a.s("token")?),
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
        .key(SK, s(keys::stock_sk(shard)));
    let update = correlation::stamp_update(
        update,
        "SET available = available - :units, reserved = reserved + :units ADD moves :one",
    )
    .expression_attribute_values(":one", n(1))
    .condition_expression(condition)
    .expression_attribute_values(":units", n(units))
    .expression_attribute_values(":guard", n(units.abs()))
    .build()
    .expect("key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// The cart header (`CART#<user>` / `CART`): how many lines the cart has,
/// and when the shopper's latest hold on each product began, kept after
/// the line goes (removed or expired) until the hold's cooldown is over.
#[derive(Debug, Default)]
struct CartHeader {
    lines: i64,
    holds: BTreeMap<ProductId, Timestamp>,
}

fn header_from_item(item: &Item) -> Result<CartHeader, StoreError> {
    let a = Attrs::new(item);
    let mut holds = BTreeMap::new();
    for (name, value) in item {
        let (Some(product), AttributeValue::S(since)) = (name.strip_prefix(HOLD_PREFIX), value) else {
            continue;
        };
        let product = ProductId::parse(product).map_err(|e| a.corrupt(format!("{name}: {e}")))?;
        holds.insert(
            product,
            clock::parse(since).map_err(|e| a.corrupt(format!("{name}: {e}")))?,
        );
    }
    Ok(CartHeader {
        lines: a.n("lines").unwrap_or(0),
        holds,
    })
}

/// Counts a line out of the cart header.
fn uncount_line(table: &str, user: &UserId) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(keys::cart_pk(user)))
        .key(SK, s(keys::CART_HEADER_SK))
        .update_expression("SET #lines = #lines - :one")
        .expression_attribute_names("#lines", "lines")
        .expression_attribute_values(":one", n(1))
        .build()
        .expect("key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// Counts a new line into the cart header and records when the hold on its
/// product began, conditional on the header being as read (so a concurrent
/// add cannot overfill the cart or restart a hold); forgets holds whose
/// cooldown is over.
fn count_new_line(
    table: &str,
    user: &UserId,
    header: &CartHeader,
    product: &ProductId,
    held_since: Timestamp,
    now: Timestamp,
) -> TransactWriteItem {
    let mut expression = String::from("SET #lines = if_not_exists(#lines, :zero) + :one, #hold = :since");
    let mut update = Update::builder()
        .table_name(table)
        .key(PK, s(keys::cart_pk(user)))
        .key(SK, s(keys::CART_HEADER_SK))
        .expression_attribute_names("#lines", "lines")
        .expression_attribute_names("#hold", hold_attribute(product))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":since", s(clock::format(held_since)))
        .expression_attribute_values(":seenLines", n(header.lines));
    let lines_as_read = if header.lines == 0 {
        "(attribute_not_exists(#lines) OR #lines = :seenLines)"
    } else {
        "#lines = :seenLines"
    };
    let condition = match header.holds.get(product) {
        Some(seen) => {
            update = update.expression_attribute_values(":seenHold", s(clock::format(*seen)));
            format!("{lines_as_read} AND #hold = :seenHold")
        }
        None => format!("{lines_as_read} AND attribute_not_exists(#hold)"),
    };
    let forgotten: Vec<&ProductId> = header
        .holds
        .iter()
        .filter(|(p, since)| *p != product && cart::hold_forgotten(**since, now))
        .map(|(p, _)| p)
        .collect();
    if !forgotten.is_empty() {
        let names: Vec<String> = (0..forgotten.len()).map(|i| format!("#old{i}")).collect();
        expression.push_str(&format!(" REMOVE {}", names.join(", ")));
        for (name, old) in names.iter().zip(forgotten) {
            update = update.expression_attribute_names(name, hold_attribute(old));
        }
    }
    let update = update
        .update_expression(expression)
        .condition_expression(condition)
        .build()
        .expect("key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

impl DynamoStore {
    /// The cart header and the line of `product`, in one query of the cart's
    /// partition (a header and at most 20 small lines).
    async fn cart_state(
        &self,
        user: &UserId,
        product: &ProductId,
    ) -> Result<(CartHeader, Option<CartLine>), StoreError> {
        let line_sk = keys::cart_line_sk(product);
        let mut header = CartHeader::default();
        let mut line = None;
        for item in &self.partition(keys::cart_pk(user)).await? {
            match Attrs::new(item).opt_s(SK) {
                Some(keys::CART_HEADER_SK) => header = header_from_item(item)?,
                Some(sk) if sk == line_sk => line = Some(line_from_item(item)?),
                _ => {}
            }
        }
        Ok((header, line))
    }

    /// One attempt; `Ok(None)` when a concurrent change got there first.
    async fn try_change_line(
        &self,
        user: &UserId,
        product_id: &ProductId,
        change: LineChange,
        now: Timestamp,
    ) -> Result<Option<Option<CartLine>>, CartError> {
        // The cart and the product are read at once: neither read depends
        // on the other, and an add waits for both. Boxed: joined, the SDK
        // calls' futures nest too deep for the compiler's layout computation
        // inside the Lambda runtime's.
        let (cart, product) = tokio::join!(
            Box::pin(self.cart_state(user, product_id)),
            Box::pin(self.product_partition(product_id))
        );
        let (header, existing) = cart?;
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
        let (product, shards) = product?.ok_or_else(|| CartError::UnknownProduct(product_id.clone()))?;
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

        // A new line counts in the header, and continues the hold the
        // shopper may still have on the product from a line now gone.
        let header = existing.is_none().then_some(header);
        if header.as_ref().is_some_and(|h| h.lines >= MAX_LINES_PER_CART as i64) {
            return Err(CartError::CartFull);
        }
        let latest_hold = match (&existing, &header) {
            (Some(line), _) => Some(line.held_since),
            (None, Some(header)) => header.holds.get(product_id).copied(),
            (None, None) => None,
        };
        let held_since = match cart::hold(latest_hold, now) {
            Hold::Since(since) => since,
            // Removing is always allowed; holding more, or longer, is not.
            Hold::Spent { .. } if wanted == 0 => now,
            Hold::Spent { until } => {
                return Err(CartError::HoldSpent {
                    product: product_id.clone(),
                    until,
                });
            }
        };
        let mut actions = Vec::new();
        if let Some(header) = &header {
            actions.push(count_new_line(&self.table, user, header, product_id, held_since, now));
        }
        let line = (wanted > 0).then(|| CartLine {
            product_id: product_id.clone(),
            title: product.title.clone(),
            unit_price: product.price,
            quantity: wanted,
            reserved_until: reservation_deadline(now, held_since),
            held_since,
            taken: stock::merge_allocation(&held, &take, &give),
            token: LineToken::fresh(),
        });
        let line_key = [(PK, keys::cart_pk(user)), (SK, keys::cart_line_sk(product_id))];
        match (&line, &existing) {
            (Some(line), old) => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(line_item(user, line)));
                let put = match old {
                    Some(old) => put
                        .condition_expression("#token = :token")
                        .expression_attribute_names("#token", "token")
                        .expression_attribute_values(":token", s(old.token.as_str())),
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
                    .condition_expression("#token = :token")
                    .expression_attribute_names("#token", "token")
                    .expression_attribute_values(":token", s(old.token.as_str()));
                for (name, value) in line_key {
                    delete = delete.key(name, s(value));
                }
                actions.push(
                    TransactWriteItem::builder()
                        .delete(delete.build().expect("key is set"))
                        .build(),
                );
                actions.push(uncount_line(&self.table, user));
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
            // A shard ran short, the line or the header changed, or the
            // transaction conflicted: read again and decide again.
            Transacted::Cancelled(_) => Ok(None),
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Lines released.
    pub released: usize,
    /// Lines (or whole buckets) that could not be read or released this
    /// time; the next sweep tries them again.
    pub failed: usize,
}

/// Releases reservations whose time has passed (the reservation sweeper).
pub trait ReservationSweeper {
    /// Releases every line that expired before `now`. A line or a bucket
    /// that fails is logged and counted, and the sweep goes on: one bad
    /// item never keeps every other reservation from being released.
    fn release_expired(&self, now: Timestamp) -> impl Future<Output = Sweep> + Send;
}

impl ReservationSweeper for DynamoStore {
    /// Each bucket of GSI1 lists lines by `reservedUntil`. A release is one
    /// transaction conditional on the line's write token as read: a shopper
    /// who renewed the line, or a checkout that consumed it, wins, and the
    /// line is simply skipped.
    async fn release_expired(&self, now: Timestamp) -> Sweep {
        let cutoff = clock::format(now);
        let mut sweep = Sweep::default();
        for bucket in 0..keys::RESERVATION_BUCKETS {
            let partition = keys::reservation_bucket_name(bucket);
            let items = match self.gsi1_before(&partition, &cutoff).await {
                Ok(items) => items,
                Err(error) => {
                    tracing::error!(%partition, %error, "could not list expired reservations");
                    sweep.failed += 1;
                    continue;
                }
            };
            for item in &items {
                match self.release_listed(item, now).await {
                    Ok(true) => sweep.released += 1,
                    Ok(false) => {}
                    Err(error) => {
                        tracing::error!(%partition, %error, "could not release an expired reservation");
                        sweep.failed += 1;
                    }
                }
            }
        }
        sweep
    }
}

impl DynamoStore {
    /// Releases a line the reservation listing shows, if it has expired.
    async fn release_listed(&self, item: &Item, now: Timestamp) -> Result<bool, StoreError> {
        let user = Attrs::new(item).parsed("userId", |v| UserId::parse(v))?;
        let line = line_from_item(item)?;
        if line.is_reserved(now) {
            return Ok(false);
        }
        self.release_line(&user, &line).await
    }

    /// Deletes an expired line and returns its units; `false` if the line
    /// changed since it was read.
    async fn release_line(&self, user: &UserId, line: &CartLine) -> Result<bool, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(keys::cart_pk(user)))
            .key(SK, s(keys::cart_line_sk(&line.product_id)))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(line.token.as_str()))
            .build()
            .expect("key is set");
        let mut actions = vec![
            TransactWriteItem::builder().delete(delete).build(),
            uncount_line(&self.table, user),
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
