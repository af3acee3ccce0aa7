//! Checkout and orders in DynamoDB: idempotency records, the one transaction
//! that turns a cart into an order, order reads, cancellation and
//! fulfilment. `docs/checkout.md` draws the sequence.

use super::keys::{self, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, Transacted, condition_failed, n, retry_lost_races, s};
use crate::cart::CartLine;
use crate::idempotency::{self, Decision, IdempotencyKey, Record, RecordState, StoredResponse};
use crate::ids::{ProductId, UserId};
use crate::money::{Currency, Money};
use crate::order::{Order, OrderId, OrderLine, OrderPayment, OrderStatus, ShippingAddress, StatusChange};
use crate::pricing::Totals;
use crate::stock;
use crate::time::{self as clock, Timestamp};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

/// Failed checkouts are kept for this long for support and fraud review.
const AUDIT_RETENTION: time::Duration = time::Duration::days(90);
/// Outbox items are collected a week after they were written (the relay
/// forwards them within seconds).
const OUTBOX_RETENTION: time::Duration = time::Duration::days(7);

/// A charge a checkout attempt is about to make (or made before it died),
/// noted on the idempotency record before the provider is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCharge {
    /// Which charge of this checkout (a later one only after an earlier one was undone).
    pub seq: u32,
    /// The provider's idempotency key.
    pub key: String,
    pub amount: Money,
    pub payment_method: String,
}

/// A checkout attempt that holds its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub user: UserId,
    pub key: IdempotencyKey,
    pub attempt: u32,
    /// When the key was first used (names the checkout, see `idempotency::checkout_seed`).
    pub created_at: Timestamp,
    /// A charge an earlier attempt of this checkout may have made.
    pub pending: Option<PendingCharge>,
    /// The highest charge number used so far.
    pub charge_seq: u32,
}

/// What claiming a key found.
#[derive(Debug)]
pub enum Claim {
    /// This attempt holds the key now.
    Claimed(Ticket),
    Replay(StoredResponse),
    InUse,
    Reused,
}

/// How the order transaction ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Commit {
    Placed,
    /// Another attempt took the key over (this one outlived its lock): it
    /// decides; this attempt must not touch the charge.
    LostKey,
    /// A cart line changed, expired or was released since it was read.
    CartChanged,
}

/// Why a checkout failed, kept in the audit trail.
#[derive(Debug, Clone)]
pub struct Audit {
    pub reason: &'static str,
    pub detail: String,
}

/// The checkout's storage: its idempotency record and the order transaction.
pub trait CheckoutStore {
    fn claim(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Notes the charge about to be made; `false` if the key was lost.
    fn note_pending_charge(
        &self,
        ticket: &Ticket,
        charge: &PendingCharge,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets an earlier attempt's charge once it has been undone.
    fn clear_pending_charge(&self, ticket: &Ticket) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives the key up at once (after a transient failure, so a retry runs
    /// now) and writes the audit record.
    fn release(
        &self,
        ticket: &Ticket,
        audit: &Audit,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Completes the key with a failure response and writes the audit record.
    fn fail(
        &self,
        ticket: &Ticket,
        response: &StoredResponse,
        audit: &Audit,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The order transaction: creates the order, sells the reserved units,
    /// empties the cart lines, completes the key with `response` and writes
    /// the outbox event, all or nothing.
    fn commit_order(
        &self,
        ticket: &Ticket,
        order: &Order,
        cart: &[CartLine],
        response: &StoredResponse,
        now: Timestamp,
    ) -> impl Future<Output = Result<Commit, StoreError>> + Send;
}

/// Reads the caller's orders.
pub trait OrderReader {
    fn order(
        &self,
        id: &OrderId,
    ) -> impl Future<Output = Result<Option<(Order, Vec<StatusChange>)>, StoreError>> + Send;

    /// A page of `user`'s orders, newest first, after `cursor`.
    fn orders_of(
        &self,
        user: &UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<(Vec<Order>, Option<String>), StoreError>> + Send;
}

/// Changes an order's status.
pub trait OrderWriter {
    /// Cancels `order` (as read, at its version) and returns its units to
    /// stock; `false` if the order changed since it was read.
    fn cancel(&self, order: &Order, now: Timestamp) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Moves `order` (as read) to `status`; `false` if it changed since.
    fn set_status(
        &self,
        order: &Order,
        status: OrderStatus,
        tracking_number: Option<&str>,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records the refund of a cancelled order.
    fn mark_refunded(&self, order: &Order, refund_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

// ---------------------------------------------------------------------------
// Items

fn money_map(amount: Money) -> AttributeValue {
    AttributeValue::M(Item::from([
        ("amount".into(), n(amount.amount)),
        ("currency".into(), s(amount.currency.as_str())),
    ]))
}

fn money_from(item: &Item, name: &str) -> Result<Money, StoreError> {
    let a = Attrs::new(item);
    match item.get(name) {
        Some(AttributeValue::M(map)) => {
            let m = Attrs::new(map);
            Ok(Money::new(m.n("amount")?, m.parsed("currency", Currency::parse)?))
        }
        _ => Err(a.corrupt(format!("missing money {name}"))),
    }
}

/// An order line as stored: the view's fields plus the shards it sold from.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredLine {
    product_id: ProductId,
    title: String,
    quantity: i64,
    unit_price: Money,
    taken: BTreeMap<u8, i64>,
}

fn order_item(order: &Order) -> Item {
    let created = clock::format(order.created_at);
    let lines: Vec<StoredLine> = order
        .lines
        .iter()
        .map(|l| StoredLine {
            product_id: l.product_id.clone(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            taken: l.taken.clone(),
        })
        .collect();
    let mut item = Item::from([
        (PK.into(), s(keys::order_pk(&order.id))),
        (SK.into(), s(keys::ORDER_SK)),
        ("entity".into(), s("Order")),
        ("orderId".into(), s(order.id.as_str())),
        ("userId".into(), s(order.user_id.as_str())),
        ("status".into(), s(order.status.as_str())),
        ("lines".into(), s(serde_json::to_string(&lines).unwrap_or_default())),
        (
            "shippingAddress".into(),
            s(serde_json::to_string(&order.shipping_address).unwrap_or_default()),
        ),
        ("subtotal".into(), money_map(order.totals.subtotal)),
        ("tax".into(), money_map(order.totals.tax)),
        ("shipping".into(), money_map(order.totals.shipping)),
        ("total".into(), money_map(order.totals.total)),
        ("chargeId".into(), s(&order.payment.charge_id)),
        ("paymentKey".into(), s(&order.payment.provider_key)),
        (
            "estimatedDelivery".into(),
            s(crate::order::date_string(order.estimated_delivery)),
        ),
        ("createdAt".into(), s(&created)),
        ("updatedAt".into(), s(clock::format(order.updated_at))),
        ("version".into(), n(order.version)),
        (keys::GSI1_PK.into(), s(keys::user_orders_pk(&order.user_id))),
        (keys::GSI1_SK.into(), s(keys::user_order_sk(&created, &order.id))),
    ]);
    if let Some(tracking) = &order.tracking_number {
        item.insert("trackingNumber".into(), s(tracking));
    }
    if let Some(refund) = &order.payment.refund_id {
        item.insert("refundId".into(), s(refund));
    }
    item
}

fn order_from_item(item: &Item) -> Result<Order, StoreError> {
    let a = Attrs::new(item);
    let lines: Vec<StoredLine> = serde_json::from_str(a.s("lines")?).map_err(|e| a.corrupt(format!("lines: {e}")))?;
    let shipping_address: ShippingAddress =
        serde_json::from_str(a.s("shippingAddress")?).map_err(|e| a.corrupt(format!("shippingAddress: {e}")))?;
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    Ok(Order {
        id: a.parsed("orderId", |v| OrderId::parse(v))?,
        user_id: a.parsed("userId", |v| UserId::parse(v))?,
        status: a.parsed("status", OrderStatus::parse)?,
        lines: lines
            .into_iter()
            .map(|l| OrderLine {
                line_total: Money::new(l.unit_price.amount * l.quantity, l.unit_price.currency),
                product_id: l.product_id,
                title: l.title,
                quantity: l.quantity,
                unit_price: l.unit_price,
                taken: l.taken,
            })
            .collect(),
        totals: Totals {
            subtotal: money_from(item, "subtotal")?,
            tax: money_from(item, "tax")?,
            shipping: money_from(item, "shipping")?,
            total: money_from(item, "total")?,
        },
        shipping_address,
        payment: OrderPayment {
            charge_id: a.s("chargeId")?.to_owned(),
            provider_key: a.s("paymentKey")?.to_owned(),
            refund_id: a.opt_s("refundId").map(str::to_owned),
        },
        estimated_delivery: a.parsed("estimatedDelivery", |v| {
            time::Date::parse(v, date_format).map_err(|e| e.to_string())
        })?,
        tracking_number: a.opt_s("trackingNumber").map(str::to_owned),
        created_at: a.parsed("createdAt", clock::parse)?,
        updated_at: a.parsed("updatedAt", clock::parse)?,
        version: a.n("version")?,
    })
}

fn status_item(order: &OrderId, status: OrderStatus, at: Timestamp, tracking: Option<&str>) -> Item {
    let at = clock::format(at);
    let mut item = Item::from([
        (PK.into(), s(keys::order_pk(order))),
        (SK.into(), s(keys::order_status_sk(&at, status))),
        ("entity".into(), s("OrderStatusChange")),
        ("status".into(), s(status.as_str())),
        ("at".into(), s(at)),
    ]);
    if let Some(tracking) = tracking {
        item.insert("trackingNumber".into(), s(tracking));
    }
    item
}

fn status_from_item(item: &Item) -> Result<StatusChange, StoreError> {
    let a = Attrs::new(item);
    Ok(StatusChange {
        status: a.parsed("status", OrderStatus::parse)?,
        at: a.s("at")?.to_owned(),
        tracking_number: a.opt_s("trackingNumber").map(str::to_owned),
    })
}

/// An event that leaves with the change that caused it (issue 5's relay
/// forwards it from the table's stream to SQS).
fn outbox_item(event_type: &str, order: &Order, now: Timestamp) -> Item {
    let event_id = format!("{}-{}-v{}", order.id, event_type, order.version);
    let lines: Vec<serde_json::Value> = order
        .lines
        .iter()
        .map(|l| serde_json::json!({ "productId": l.product_id, "quantity": l.quantity }))
        .collect();
    let payload = serde_json::json!({
        "orderId": order.id,
        "userId": order.user_id.as_str(),
        "status": order.status,
        "lines": lines,
        "total": order.totals.total,
    });
    Item::from([
        (PK.into(), s(keys::outbox_pk(&event_id))),
        (SK.into(), s(keys::OUTBOX_SK)),
        ("entity".into(), s("OutboxEvent")),
        ("eventId".into(), s(&event_id)),
        ("type".into(), s(event_type)),
        ("aggregateId".into(), s(order.id.as_str())),
        ("version".into(), n(order.version)),
        ("payload".into(), s(payload.to_string())),
        ("createdAt".into(), s(clock::format(now))),
        (keys::EXPIRES_AT.into(), n((now + OUTBOX_RETENTION).unix_timestamp())),
    ])
}

const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";

fn record_from_item(item: &Item) -> Result<(Record, u32, Option<PendingCharge>), StoreError> {
    let a = Attrs::new(item);
    let state = match a.s("state")? {
        COMPLETED => RecordState::Completed(StoredResponse {
            status: a.n("responseStatus")?,
            body: a.s("responseBody")?.to_owned(),
        }),
        _ => RecordState::InProgress {
            attempt: a.n("attempt")?,
            locked_until: a.parsed("lockedUntil", clock::parse)?,
        },
    };
    let pending = match item.get("pendingCharge") {
        Some(AttributeValue::M(map)) => {
            let p = Attrs::new(map);
            Some(PendingCharge {
                seq: p.n("seq")?,
                key: p.s("key")?.to_owned(),
                amount: Money::new(p.n("amount")?, p.parsed("currency", Currency::parse)?),
                payment_method: p.s("paymentMethod")?.to_owned(),
            })
        }
        _ => None,
    };
    let record = Record {
        fingerprint: a.s("fingerprint")?.to_owned(),
        created_at: a.parsed("createdAt", clock::parse)?,
        state,
    };
    Ok((record, a.n("chargeSeq").unwrap_or(0), pending))
}

fn pending_map(charge: &PendingCharge) -> AttributeValue {
    AttributeValue::M(Item::from([
        ("seq".into(), n(charge.seq)),
        ("key".into(), s(&charge.key)),
        ("amount".into(), n(charge.amount.amount)),
        ("currency".into(), s(charge.amount.currency.as_str())),
        ("paymentMethod".into(), s(&charge.payment_method)),
    ]))
}

// ---------------------------------------------------------------------------
// The store

impl DynamoStore {
    fn record_key(&self, ticket: &Ticket) -> [(&'static str, AttributeValue); 2] {
        [
            (PK, s(keys::idempotency_pk(&ticket.user, &ticket.key))),
            (SK, s(keys::IDEMPOTENCY_SK)),
        ]
    }

    /// An update of the record that only applies while `ticket` holds it.
    fn record_update(&self, ticket: &Ticket, expression: &str) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        let mut update = Update::builder()
            .table_name(&self.table)
            .update_expression(expression)
            .condition_expression("#state = :inProgress AND attempt = :attempt")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":attempt", n(ticket.attempt));
        for (name, value) in self.record_key(ticket) {
            update = update.key(name, value);
        }
        update
    }

    /// Runs a single conditional update of the record; `false` if the ticket lost the key.
    async fn update_record(&self, update: Update) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(update.table_name())
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .set_condition_expression(update.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(update.expression_attribute_names().cloned());
        request = request.set_expression_attribute_values(update.expression_attribute_values().cloned());
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    async fn try_claim(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<Option<Claim>, StoreError> {
        let pk = keys::idempotency_pk(user, key);
        let existing = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(&pk))
            .key(SK, s(keys::IDEMPOTENCY_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?
            .item;
        let parsed = existing.as_ref().map(record_from_item).transpose()?;
        let locked_until = clock::format(now + idempotency::LOCK_TTL);
        match idempotency::decide(parsed.as_ref().map(|(r, _, _)| r), fingerprint, now) {
            Decision::Replay(response) => Ok(Some(Claim::Replay(response))),
            Decision::InUse => Ok(Some(Claim::InUse)),
            Decision::Reused => Ok(Some(Claim::Reused)),
            Decision::Start => {
                let item = Item::from([
                    (PK.into(), s(&pk)),
                    (SK.into(), s(keys::IDEMPOTENCY_SK)),
                    ("entity".into(), s("IdempotencyRecord")),
                    ("userId".into(), s(user.as_str())),
                    ("idempotencyKey".into(), s(key.as_str())),
                    ("fingerprint".into(), s(fingerprint)),
                    ("createdAt".into(), s(clock::format(now))),
                    ("state".into(), s(IN_PROGRESS)),
                    ("attempt".into(), n(1)),
                    ("chargeSeq".into(), n(0)),
                    ("lockedUntil".into(), s(&locked_until)),
                    (
                        keys::EXPIRES_AT.into(),
                        n((now + idempotency::RETENTION).unix_timestamp()),
                    ),
                ]);
                // A record older than the retention counts as absent.
                let put = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk) OR createdAt <= :retired")
                    .expression_attribute_values(":retired", s(clock::format(now - idempotency::RETENTION)))
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(Some(Claim::Claimed(Ticket {
                        user: user.clone(),
                        key: key.clone(),
                        attempt: 1,
                        created_at: now,
                        pending: None,
                        charge_seq: 0,
                    }))),
                    Err(e) if condition_failed(&e) => Ok(None),
                    Err(e) => Err(StoreError::from_sdk(e)),
                }
            }
            Decision::Resume { attempt, created_at } => {
                let (_, charge_seq, pending) = parsed.expect("resume is decided from a record");
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(PK, s(&pk))
                    .key(SK, s(keys::IDEMPOTENCY_SK))
                    .update_expression("SET attempt = :attempt, lockedUntil = :until")
                    .condition_expression("#state = :inProgress AND attempt = :previous AND lockedUntil <= :now")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":inProgress", s(IN_PROGRESS))
                    .expression_attribute_values(":attempt", n(attempt))
                    .expression_attribute_values(":previous", n(attempt - 1))
                    .expression_attribute_values(":until", s(&locked_until))
                    .expression_attribute_values(":now", s(clock::format(now)))
                    .send()
                    .await;
                match update {
                    Ok(_) => Ok(Some(Claim::Claimed(Ticket {
                        user: user.clone(),
                        key: key.clone(),
                        attempt,
                        created_at,
                        pending,
                        charge_seq,
                    }))),
                    Err(e) if condition_failed(&e) => Ok(None),
                    Err(e) => Err(StoreError::from_sdk(e)),
                }
            }
        }
    }

    fn audit_put(&self, ticket: &Ticket, audit: &Audit, now: Timestamp) -> TransactWriteItem {
        let at = clock::format(now);
        let item = Item::from([
            (PK.into(), s(keys::audit_pk(&ticket.user))),
            (SK.into(), s(keys::audit_sk(&at, &ticket.key))),
            ("entity".into(), s("CheckoutAudit")),
            ("userId".into(), s(ticket.user.as_str())),
            ("idempotencyKey".into(), s(ticket.key.as_str())),
            ("attempt".into(), n(ticket.attempt)),
            ("reason".into(), s(audit.reason)),
            ("detail".into(), s(&audit.detail)),
            ("at".into(), s(at)),
            (keys::EXPIRES_AT.into(), n((now + AUDIT_RETENTION).unix_timestamp())),
        ]);
        self.put_action(item, None)
    }

    fn complete_record(
        &self,
        ticket: &Ticket,
        response: &StoredResponse,
        order: Option<&OrderId>,
    ) -> TransactWriteItem {
        let mut update = self
            .record_update(
                ticket,
                "SET #state = :completed, responseStatus = :status, responseBody = :body, completedAttempt = :attempt \
                 REMOVE lockedUntil, pendingCharge",
            )
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":status", n(response.status))
            .expression_attribute_values(":body", s(&response.body));
        if let Some(order) = order {
            update = update
                .update_expression(
                    "SET #state = :completed, responseStatus = :status, responseBody = :body, \
                     completedAttempt = :attempt, orderId = :order REMOVE lockedUntil, pendingCharge",
                )
                .expression_attribute_values(":order", s(order.as_str()));
        }
        TransactWriteItem::builder()
            .update(update.build().expect("key and expression are set"))
            .build()
    }

    async fn try_commit_order(
        &self,
        ticket: &Ticket,
        order: &Order,
        cart: &[CartLine],
        response: &StoredResponse,
        now: Timestamp,
    ) -> Result<Option<Commit>, StoreError> {
        let put = |item: Item, condition: Option<&str>| self.put_action(item, condition);
        // The record comes first and the order second: their indexes tell
        // "lost the key" apart from "the cart changed".
        let mut actions = vec![
            self.complete_record(ticket, response, Some(&order.id)),
            put(order_item(order), Some("attribute_not_exists(pk)")),
            put(status_item(&order.id, order.status, now, None), None),
            put(outbox_item("OrderPlaced", order, now), None),
        ];
        let header = Update::builder()
            .table_name(&self.table)
            .key(PK, s(keys::cart_pk(&ticket.user)))
            .key(SK, s(keys::CART_HEADER_SK))
            .update_expression("SET #lines = #lines - :n")
            .expression_attribute_names("#lines", "lines")
            .expression_attribute_values(":n", n(cart.len()))
            .build()
            .expect("key and expression are set");
        actions.push(TransactWriteItem::builder().update(header).build());
        for line in cart {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(keys::cart_pk(&ticket.user)))
                .key(SK, s(keys::cart_line_sk(&line.product_id)))
                .condition_expression("version = :v AND reservedUntil > :now")
                .expression_attribute_values(":v", n(line.version))
                .expression_attribute_values(":now", s(clock::format(now)))
                .build()
                .expect("key is set");
            actions.push(TransactWriteItem::builder().delete(delete).build());
            for (shard, units) in &line.taken {
                actions.push(self.move_stock(&line.product_id, *shard, *units, StockMove::Sell));
            }
        }

        match self.transact(actions).await? {
            Transacted::Committed => Ok(Some(Commit::Placed)),
            Transacted::Cancelled(failed) if failed.iter().take(2).any(|f| *f) => Ok(Some(Commit::LostKey)),
            Transacted::Cancelled(failed) if failed.iter().any(|f| *f) => Ok(Some(Commit::CartChanged)),
            // A TransactionConflict: nothing was written; try the same again.
            Transacted::Cancelled(_) => Ok(None),
        }
    }

    /// Moves units between a shard's counts; refused if the source holds fewer.
    fn move_stock(&self, product: &ProductId, shard: u8, units: i64, how: StockMove) -> TransactWriteItem {
        let (expression, condition) = match how {
            StockMove::Sell => ("SET reserved = reserved - :u, sold = sold + :u", "reserved >= :u"),
            StockMove::Return => ("SET sold = sold - :u, available = available + :u", "sold >= :u"),
        };
        let update = Update::builder()
            .table_name(&self.table)
            .key(PK, s(keys::product_pk(product)))
            .key(SK, s(keys::stock_sk(shard)))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":u", n(units))
            .build()
            .expect("key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// An update of an order item conditional on its version, bumping it.
    fn order_change(
        &self,
        order: &Order,
        status: OrderStatus,
        now: Timestamp,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key(PK, s(keys::order_pk(&order.id)))
            .key(SK, s(keys::ORDER_SK))
            .condition_expression("version = :version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":version", n(order.version))
            .expression_attribute_values(":next", n(order.version + 1))
            .expression_attribute_values(":now", s(clock::format(now)))
    }

    async fn try_cancel(&self, order: &Order, now: Timestamp) -> Result<Option<bool>, StoreError> {
        let change = self
            .order_change(order, OrderStatus::Cancelled, now)
            .update_expression("SET #status = :status, version = :next, updatedAt = :now")
            .build()
            .expect("key and expression are set");
        let cancelled = Order {
            status: OrderStatus::Cancelled,
            version: order.version + 1,
            ..order.clone()
        };
        let mut actions = vec![
            TransactWriteItem::builder().update(change).build(),
            self.put_action(status_item(&order.id, OrderStatus::Cancelled, now, None), None),
            self.put_action(outbox_item("OrderCancelled", &cancelled, now), None),
        ];
        for line in &order.lines {
            // Shards may have been redistributed since the sale: return the
            // units to shards that hold that many sold.
            let shards = self
                .product_partition(&line.product_id)
                .await?
                .map(|(_, s)| s)
                .unwrap_or_default();
            for (shard, units) in stock::plan_return(&line.taken, &shards) {
                actions.push(self.move_stock(&line.product_id, shard, units, StockMove::Return));
            }
        }
        match self.transact(actions).await? {
            Transacted::Committed => Ok(Some(true)),
            Transacted::Cancelled(failed) if failed.first() == Some(&true) => Ok(Some(false)),
            // A shard changed under us, or a conflict: plan again.
            Transacted::Cancelled(_) => Ok(None),
        }
    }
}

impl DynamoStore {
    /// Runs a transaction whose first action carries the only condition:
    /// `false` if it failed, retried on conflicts.
    async fn transact_first_guarded(&self, actions: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        retry_lost_races(|| async {
            match self.transact(actions.clone()).await? {
                Transacted::Committed => Ok(Some(true)),
                Transacted::Cancelled(failed) if failed.first() == Some(&true) => Ok(Some(false)),
                Transacted::Cancelled(_) => Ok(None),
            }
        })
        .await
    }
}

#[derive(Debug, Clone, Copy)]
enum StockMove {
    /// `reserved → sold` (checkout).
    Sell,
    /// `sold → available` (cancel).
    Return,
}

impl CheckoutStore for DynamoStore {
    async fn claim(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<Claim, StoreError> {
        retry_lost_races(|| self.try_claim(user, key, fingerprint, now)).await
    }

    async fn note_pending_charge(&self, ticket: &Ticket, charge: &PendingCharge) -> Result<bool, StoreError> {
        let update = self
            .record_update(ticket, "SET pendingCharge = :charge, chargeSeq = :seq")
            .expression_attribute_values(":charge", pending_map(charge))
            .expression_attribute_values(":seq", n(charge.seq))
            .build()
            .expect("key and expression are set");
        self.update_record(update).await
    }

    async fn clear_pending_charge(&self, ticket: &Ticket) -> Result<bool, StoreError> {
        let update = self
            .record_update(ticket, "REMOVE pendingCharge")
            .build()
            .expect("key and expression are set");
        self.update_record(update).await
    }

    async fn release(&self, ticket: &Ticket, audit: &Audit, now: Timestamp) -> Result<(), StoreError> {
        let update = self
            .record_update(ticket, "SET lockedUntil = :now")
            .expression_attribute_values(":now", s(clock::format(now)))
            .build()
            .expect("key and expression are set");
        let actions = vec![
            TransactWriteItem::builder().update(update).build(),
            self.audit_put(ticket, audit, now),
        ];
        self.transact_first_guarded(actions).await.map(|_| ())
    }

    async fn fail(
        &self,
        ticket: &Ticket,
        response: &StoredResponse,
        audit: &Audit,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let actions = vec![
            self.complete_record(ticket, response, None),
            self.audit_put(ticket, audit, now),
        ];
        self.transact_first_guarded(actions).await
    }

    async fn commit_order(
        &self,
        ticket: &Ticket,
        order: &Order,
        cart: &[CartLine],
        response: &StoredResponse,
        now: Timestamp,
    ) -> Result<Commit, StoreError> {
        retry_lost_races(|| self.try_commit_order(ticket, order, cart, response, now)).await
    }
}

impl OrderReader for DynamoStore {
    async fn order(&self, id: &OrderId) -> Result<Option<(Order, Vec<StatusChange>)>, StoreError> {
        let mut order = None;
        let mut history = Vec::new();
        for item in &self.partition(keys::order_pk(id)).await? {
            match Attrs::new(item).opt_s(SK) {
                Some(keys::ORDER_SK) => order = Some(order_from_item(item)?),
                Some(sk) if sk.starts_with(keys::ORDER_STATUS_SK_PREFIX) => history.push(status_from_item(item)?),
                _ => {}
            }
        }
        Ok(order.map(|o| (o, history)))
    }

    async fn orders_of(
        &self,
        user: &UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Order>, Option<String>), StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::GSI1_PK)
            .expression_attribute_values(":pk", s(keys::user_orders_pk(user)))
            .scan_index_forward(false)
            .limit(limit as i32);
        if let Some(after) = cursor {
            let id = keys::order_id_of_user_order_sk(after).ok_or_else(|| StoreError::Corrupt {
                key: after.to_owned(),
                problem: "orders cursor without an order id".into(),
            })?;
            query = query
                .exclusive_start_key(PK, s(keys::order_pk(&id)))
                .exclusive_start_key(SK, s(keys::ORDER_SK))
                .exclusive_start_key(keys::GSI1_PK, s(keys::user_orders_pk(user)))
                .exclusive_start_key(keys::GSI1_SK, s(after));
        }
        let output = query.send().await.map_err(StoreError::from_sdk)?;
        let orders = output
            .items()
            .iter()
            .map(order_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match output.last_evaluated_key() {
            Some(last) => match last.get(keys::GSI1_SK) {
                Some(AttributeValue::S(sk)) => Some(sk.clone()),
                _ => None,
            },
            None => None,
        };
        Ok((orders, next))
    }
}

impl OrderWriter for DynamoStore {
    async fn cancel(&self, order: &Order, now: Timestamp) -> Result<bool, StoreError> {
        retry_lost_races(|| self.try_cancel(order, now)).await
    }

    async fn set_status(
        &self,
        order: &Order,
        status: OrderStatus,
        tracking_number: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut change = self
            .order_change(order, status, now)
            .update_expression("SET #status = :status, version = :next, updatedAt = :now");
        if let Some(tracking) = tracking_number {
            change = change
                .update_expression(
                    "SET #status = :status, version = :next, updatedAt = :now, trackingNumber = :tracking",
                )
                .expression_attribute_values(":tracking", s(tracking));
        }
        let changed = Order {
            status,
            version: order.version + 1,
            tracking_number: tracking_number
                .map(str::to_owned)
                .or_else(|| order.tracking_number.clone()),
            ..order.clone()
        };
        let put = |item: Item| self.put_action(item, None);
        let actions = vec![
            TransactWriteItem::builder()
                .update(change.build().expect("key and expression are set"))
                .build(),
            put(status_item(&order.id, status, now, tracking_number)),
            put(outbox_item("OrderStatusChanged", &changed, now)),
        ];
        self.transact_first_guarded(actions).await
    }

    async fn mark_refunded(&self, order: &Order, refund_id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::order_pk(&order.id)))
            .key(SK, s(keys::ORDER_SK))
            .update_expression("SET refundId = if_not_exists(refundId, :refund)")
            .expression_attribute_values(":refund", s(refund_id))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
