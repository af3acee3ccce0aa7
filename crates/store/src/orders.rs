//! Checkout and orders in DynamoDB: idempotency records, the one transaction
//! that turns a cart into an order, order reads, cancellation and
//! fulfilment. `docs/checkout.md` draws the sequence.

use super::keys::{self, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, Transacted, condition_failed, correlation, n, retry_lost_races, s};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use shop_domain::cart::CartLine;
use shop_domain::idempotency::{self, Decision, IdempotencyKey, Record, RecordState, StoredResponse};
use shop_domain::ids::{ProductId, UserId};
use shop_domain::money::{Currency, Money};
use shop_domain::order::{
    Order, OrderId, OrderLine, OrderPayment, OrderStatus, PlaceOrder, ShippingAddress, StatusChange,
};
use shop_domain::payment::PaymentId;
use shop_domain::pricing::Totals;
use shop_domain::stock;
use shop_domain::time::{self as clock, Timestamp};
use std::collections::BTreeMap;
use std::future::Future;

/// Failed checkouts are kept for this long for support and fraud review.
const AUDIT_RETENTION: time::Duration = time::Duration::days(90);
/// Outbox items are collected a week after they were written (the relay
/// forwards them within seconds).
const OUTBOX_RETENTION: time::Duration = time::Duration::days(7);

/// The payment a checkout attempt is making (or made before it died), as
/// its idempotency record notes it: once the provider created it, with its
/// id, before the card is charged; and as `refunding` before a refund is
/// asked for, so that a payment whose refund has started is never used for
/// an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotedPayment {
    /// Which payment of this checkout (a later one only after an earlier one was undone).
    pub seq: u32,
    /// The provider's idempotency key for creating it.
    pub key: String,
    pub amount: Money,
    pub payment_method: String,
    /// The lines it pays for (`checkout::cart_digest`).
    pub cart: String,
    /// The provider's id.
    pub id: PaymentId,
    /// Its refund has been asked for: finish it, never charge it again.
    pub refunding: bool,
}

/// A checkout attempt that holds its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub user: UserId,
    pub key: IdempotencyKey,
    pub attempt: u32,
    /// When the key was first used (names the checkout, see `idempotency::checkout_seed`).
    pub created_at: Timestamp,
    /// The payment an earlier attempt of this checkout noted.
    pub payment: Option<NotedPayment>,
    /// The highest payment number used so far.
    pub charge_seq: u32,
    /// How often the reconciler has taken this checkout over.
    pub reconcile_tries: u32,
}

impl Ticket {
    /// The ticket of attempt `attempt`, carrying what the record held.
    fn new(
        user: &UserId,
        key: &IdempotencyKey,
        attempt: u32,
        created_at: Timestamp,
        stored: Option<StoredRecord>,
    ) -> Self {
        let stored = stored.as_ref();
        Self {
            user: user.clone(),
            key: key.clone(),
            attempt,
            created_at,
            payment: stored.and_then(|r| r.payment.clone()),
            charge_seq: stored.map_or(0, |r| r.charge_seq),
            reconcile_tries: stored.map_or(0, |r| r.reconcile_tries),
        }
    }
}

/// A checkout whose attempt stopped holding its key a while ago without
/// finishing, as the reconciler finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleCheckout {
    pub user: UserId,
    pub key: IdempotencyKey,
    pub attempt: u32,
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
    /// Claims `key` for a request with `fingerprint`; a new record keeps
    /// `request`, so that the reconciler can finish the checkout.
    fn claim(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        fingerprint: &str,
        request: &PlaceOrder,
        now: Timestamp,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Notes the payment (and its number) on the record; `false` if the
    /// ticket lost the key.
    fn note_payment(
        &self,
        ticket: &Ticket,
        payment: &NotedPayment,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets the record's payment, keeping `charge_seq` as the highest
    /// payment number used; `false` if the ticket lost the key.
    fn forget_payment(&self, ticket: &Ticket, charge_seq: u32)
    -> impl Future<Output = Result<bool, StoreError>> + Send;

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

/// What the reconciler needs of checkouts that stopped half-way.
pub trait StaleCheckouts {
    /// Checkouts still in progress whose lock ran out before `before`.
    fn stale_checkouts(&self, before: Timestamp)
    -> impl Future<Output = Result<Vec<StaleCheckout>, StoreError>> + Send;

    /// Takes a stale checkout over as its next attempt (counting the
    /// reconciler's tries); `None` if it moved on meanwhile.
    fn take_over(
        &self,
        stale: &StaleCheckout,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<(Ticket, PlaceOrder)>, StoreError>> + Send;
}

/// `user`'s order with its history; `None` for an unknown order and for
/// another user's, so a caller cannot tell them apart.
pub async fn own_order(
    store: &impl OrderReader,
    user: &UserId,
    id: &OrderId,
) -> Result<Option<(Order, Vec<StatusChange>)>, StoreError> {
    Ok(store.order(id).await?.filter(|(order, _)| &order.user_id == user))
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

    /// Records the refund of a cancelled order; it is owed no longer.
    fn mark_refunded(&self, order: &OrderId, refund_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A refund a cancelled order still owes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOwed {
    pub order: OrderId,
    pub payment: PaymentId,
    /// How often the reconciler has tried it.
    pub tries: u32,
}

/// The refunds cancelled orders still owe, for the reconciler.
pub trait RefundsOwed {
    /// Refunds owed since before `before`.
    fn refunds_owed(&self, before: Timestamp) -> impl Future<Output = Result<Vec<RefundOwed>, StoreError>> + Send;

    /// Counts one more try of the reconciler at `owed`.
    fn count_refund_try(&self, owed: &RefundOwed) -> impl Future<Output = Result<(), StoreError>> + Send;
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
        ("paymentId".into(), s(order.payment.payment_id.as_str())),
        ("paymentKey".into(), s(&order.payment.provider_key)),
        (
            "estimatedDelivery".into(),
            s(shop_domain::order::date_string(order.estimated_delivery)),
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

pub(crate) fn order_from_item(item: &Item) -> Result<Order, StoreError> {
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
            payment_id: PaymentId::new(a.s("paymentId")?),
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
    correlation::stamp_item(Item::from([
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
    ]))
}

/// The item that says a cancelled order's refund is owed, from the cancel
/// until the refund is recorded.
fn refund_owed_item(order: &Order, now: Timestamp) -> Item {
    let since = clock::format(now);
    Item::from([
        (PK.into(), s(keys::refund_owed_pk(&order.id))),
        (SK.into(), s(keys::REFUND_OWED_SK)),
        ("entity".into(), s("RefundOwed")),
        ("orderId".into(), s(order.id.as_str())),
        ("paymentId".into(), s(order.payment.payment_id.as_str())),
        ("amount".into(), money_map(order.totals.total)),
        ("tries".into(), n(0)),
        ("dueSince".into(), s(&since)),
        (keys::GSI1_PK.into(), s(keys::refunds_bucket_pk(&order.id))),
        (keys::GSI1_SK.into(), s(keys::refund_owed_sk(&since, &order.id))),
    ])
}

const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";

/// A record as read: the pure part, and what the store keeps beside it.
struct StoredRecord {
    record: Record,
    attempt: u32,
    charge_seq: u32,
    payment: Option<NotedPayment>,
    request: Option<PlaceOrder>,
    reconcile_tries: u32,
}

/// A completed record's answer: a placed order's view (`responseStatus`
/// 201 and `responseBody`), a typed refusal (`refusal`, as JSON), or a
/// refusal rendered before refusals were typed (`responseStatus` and
/// `responseBody`).
fn stored_response(a: &Attrs<'_>) -> Result<StoredResponse, StoreError> {
    if a.opt_s("refusal").is_some() {
        let refusal = a.parsed("refusal", |json| serde_json::from_str(json).map_err(|e| e.to_string()))?;
        return Ok(StoredResponse::Refused(refusal));
    }
    let status: u16 = a.n("responseStatus")?;
    let body = a.s("responseBody")?.to_owned();
    Ok(match status {
        PLACED_STATUS => StoredResponse::Placed { body },
        status => StoredResponse::Rendered { status, body },
    })
}

/// The `responseStatus` of a placed order's record: HTTP's 201, kept so
/// that records written before refusals were typed read the same way.
const PLACED_STATUS: u16 = 201;

fn record_from_item(item: &Item) -> Result<StoredRecord, StoreError> {
    let a = Attrs::new(item);
    let state = match a.s("state")? {
        COMPLETED => RecordState::Completed {
            response: stored_response(&a)?,
            at: a.parsed("completedAt", clock::parse)?,
        },
        _ => RecordState::InProgress {
            attempt: a.n("attempt")?,
            locked_until: a.parsed("lockedUntil", clock::parse)?,
        },
    };
    let payment = match item.get("payment") {
        Some(AttributeValue::M(map)) => {
            let p = Attrs::new(map);
            Some(NotedPayment {
                seq: p.n("seq")?,
                key: p.s("key")?.to_owned(),
                amount: Money::new(p.n("amount")?, p.parsed("currency", Currency::parse)?),
                payment_method: p.s("paymentMethod")?.to_owned(),
                cart: p.s("cart")?.to_owned(),
                id: PaymentId::new(p.s("id")?),
                refunding: matches!(map.get("refunding"), Some(AttributeValue::Bool(true))),
            })
        }
        _ => None,
    };
    let request = a
        .opt_s("request")
        .map(|json| serde_json::from_str(json).map_err(|e| a.corrupt(format!("request: {e}"))))
        .transpose()?;
    Ok(StoredRecord {
        record: Record {
            fingerprint: a.s("fingerprint")?.to_owned(),
            created_at: a.parsed("createdAt", clock::parse)?,
            state,
        },
        attempt: a.n("attempt")?,
        charge_seq: a.n("chargeSeq")?,
        payment,
        request,
        reconcile_tries: a.n("reconcileTries").unwrap_or(0),
    })
}

/// The payment an idempotency record in progress notes (for the audit:
/// money a checkout still holds is in flight, not lost).
pub(crate) fn record_payment(item: &Item) -> Result<Option<PaymentId>, StoreError> {
    let stored = record_from_item(item)?;
    Ok(match stored.record.state {
        RecordState::InProgress { .. } => stored.payment.map(|p| p.id),
        RecordState::Completed { .. } => None,
    })
}

fn payment_map(payment: &NotedPayment) -> AttributeValue {
    let map = Item::from([
        ("seq".into(), n(payment.seq)),
        ("key".into(), s(&payment.key)),
        ("amount".into(), n(payment.amount.amount)),
        ("currency".into(), s(payment.amount.currency.as_str())),
        ("paymentMethod".into(), s(&payment.payment_method)),
        ("cart".into(), s(&payment.cart)),
        ("id".into(), s(payment.id.as_str())),
        ("refunding".into(), AttributeValue::Bool(payment.refunding)),
    ]);
    AttributeValue::M(map)
}

/// While a checkout runs, its record is listed on GSI1 by when its lock
/// runs out, so the reconciler finds the ones nobody finished.
fn stale_listing(user: &UserId, key: &IdempotencyKey, locked_until: &str) -> (String, String) {
    (
        keys::checkouts_bucket_pk(user, key),
        keys::checkout_sk(locked_until, user, key),
    )
}

// ---------------------------------------------------------------------------
// The store

impl DynamoStore {
    fn record_key(&self, user: &UserId, key: &IdempotencyKey) -> [(&'static str, AttributeValue); 2] {
        [(PK, s(keys::idempotency_pk(user, key))), (SK, s(keys::IDEMPOTENCY_SK))]
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
        for (name, value) in self.record_key(&ticket.user, &ticket.key) {
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

    async fn read_record(&self, user: &UserId, key: &IdempotencyKey) -> Result<Option<StoredRecord>, StoreError> {
        let item = self.get(keys::idempotency_pk(user, key), keys::IDEMPOTENCY_SK).await?;
        item.as_ref().map(record_from_item).transpose()
    }

    /// Takes over a record whose lock ran out, as attempt `previous + 1`,
    /// locked until `now + LOCK_TTL`, and answers the record as the take-over
    /// left it; `None` if another attempt got there first or it finished
    /// meanwhile. The reconciler counts its tries. The record is read back
    /// from the update itself: the previous attempt may still have written
    /// to it (a payment, `refunding`) after it was first read, and from now
    /// on it cannot.
    async fn resume(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        previous: u32,
        now: Timestamp,
        by_reconciler: bool,
    ) -> Result<Option<StoredRecord>, StoreError> {
        let locked_until = clock::format(now + idempotency::LOCK_TTL);
        let (listing_pk, listing_sk) = stale_listing(user, key, &locked_until);
        let mut expression = String::from("SET attempt = :attempt, lockedUntil = :until, #gpk = :gpk, #gsk = :gsk");
        if by_reconciler {
            expression.push_str(" ADD reconcileTries :one");
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::idempotency_pk(user, key)))
            .key(SK, s(keys::IDEMPOTENCY_SK))
            .update_expression(expression)
            .condition_expression("#state = :inProgress AND attempt = :previous AND lockedUntil <= :now")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#gpk", keys::GSI1_PK)
            .expression_attribute_names("#gsk", keys::GSI1_SK)
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":attempt", n(previous + 1))
            .expression_attribute_values(":previous", n(previous))
            .expression_attribute_values(":until", s(&locked_until))
            .expression_attribute_values(":gpk", s(listing_pk))
            .expression_attribute_values(":gsk", s(listing_sk))
            .expression_attribute_values(":now", s(clock::format(now)));
        if by_reconciler {
            update = update.expression_attribute_values(":one", n(1));
        }
        match update.return_values(ReturnValue::AllNew).send().await {
            Ok(output) => record_from_item(&output.attributes.unwrap_or_default()).map(Some),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    async fn try_claim(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        fingerprint: &str,
        request: &PlaceOrder,
        now: Timestamp,
    ) -> Result<Option<Claim>, StoreError> {
        let existing = self.read_record(user, key).await?;
        let ticket =
            |attempt, created_at, stored: Option<StoredRecord>| Ticket::new(user, key, attempt, created_at, stored);
        match idempotency::decide(existing.as_ref().map(|r| &r.record), fingerprint, now) {
            Decision::Replay(response) => Ok(Some(Claim::Replay(response))),
            Decision::InUse => Ok(Some(Claim::InUse)),
            Decision::Reused => Ok(Some(Claim::Reused)),
            Decision::Start => {
                let locked_until = clock::format(now + idempotency::LOCK_TTL);
                let (listing_pk, listing_sk) = stale_listing(user, key, &locked_until);
                let request = serde_json::to_string(request).map_err(|e| StoreError::Rejected(e.to_string()))?;
                let mut item = Item::from([
                    ("entity".into(), s("IdempotencyRecord")),
                    ("userId".into(), s(user.as_str())),
                    ("idempotencyKey".into(), s(key.as_str())),
                    ("fingerprint".into(), s(fingerprint)),
                    ("request".into(), s(request)),
                    ("createdAt".into(), s(clock::format(now))),
                    ("state".into(), s(IN_PROGRESS)),
                    ("attempt".into(), n(1)),
                    ("chargeSeq".into(), n(0)),
                    ("lockedUntil".into(), s(&locked_until)),
                    (keys::GSI1_PK.into(), s(listing_pk)),
                    (keys::GSI1_SK.into(), s(listing_sk)),
                ]);
                item.extend(self.record_key(user, key).map(|(k, v)| (k.to_owned(), v)));
                // A record finished longer than the retention ago counts as
                // absent; one still in progress may hold money and is
                // never replaced (the reconciler finishes it).
                let put = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk) OR (createdAt <= :retired AND #state = :completed)")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":retired", s(clock::format(now - idempotency::RETENTION)))
                    .expression_attribute_values(":completed", s(COMPLETED))
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(Some(Claim::Claimed(ticket(1, now, None)))),
                    Err(e) if condition_failed(&e) => Ok(None),
                    Err(e) => Err(StoreError::from_sdk(e)),
                }
            }
            Decision::Resume { attempt, created_at } => {
                // Tests stall a take-over between its read and its update
                // (`return(<ms>)`), without blocking a runtime thread.
                #[cfg(feature = "failpoints")]
                if let Some(Some(ms)) = fail::eval("claim-before-resume", |ms| ms.and_then(|ms| ms.parse().ok())) {
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                let resumed = self.resume(user, key, attempt - 1, now, false).await?;
                Ok(resumed.map(|record| Claim::Claimed(ticket(attempt, created_at, Some(record)))))
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

    /// Completes the record with `response`: it leaves the reconciler's
    /// listing, and TTL collects it once the retention has passed. With an
    /// order, only while the record still notes that order's payment and
    /// not as `refunding`: no order is ever placed on money being refunded.
    fn complete_record(
        &self,
        ticket: &Ticket,
        response: &StoredResponse,
        order: Option<&Order>,
        now: Timestamp,
    ) -> TransactWriteItem {
        let (answer, values) = match response {
            StoredResponse::Placed { body } => (
                "responseStatus = :status, responseBody = :body",
                vec![(":status", n(PLACED_STATUS)), (":body", s(body))],
            ),
            StoredResponse::Rendered { status, body } => (
                "responseStatus = :status, responseBody = :body",
                vec![(":status", n(*status)), (":body", s(body))],
            ),
            StoredResponse::Refused(refusal) => (
                "refusal = :refusal",
                vec![(
                    ":refusal",
                    s(serde_json::to_string(refusal).expect("refusals serialise")),
                )],
            ),
        };
        let mut expression = format!(
            "SET #state = :completed, {answer}, completedAttempt = :attempt, completedAt = :now, #expires = :expires"
        );
        if order.is_some() {
            expression.push_str(", orderId = :order");
        }
        expression.push_str(" REMOVE lockedUntil, payment, #gpk, #gsk");
        let mut update = self
            .record_update(ticket, &expression)
            .expression_attribute_names("#expires", keys::EXPIRES_AT)
            .expression_attribute_names("#gpk", keys::GSI1_PK)
            .expression_attribute_names("#gsk", keys::GSI1_SK)
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":now", s(clock::format(now)))
            .expression_attribute_values(":expires", n((now + idempotency::RETENTION).unix_timestamp()));
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        if let Some(order) = order {
            update = update
                .condition_expression(
                    "#state = :inProgress AND attempt = :attempt AND payment.id = :paid AND payment.refunding = :no",
                )
                .expression_attribute_values(":order", s(order.id.as_str()))
                .expression_attribute_values(":paid", s(order.payment.payment_id.as_str()))
                .expression_attribute_values(":no", AttributeValue::Bool(false));
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
            self.complete_record(ticket, response, Some(order), now),
            put(order_item(order), Some("attribute_not_exists(pk)")),
            put(status_item(&order.id, order.status, now, None), None),
            put(outbox_item("OrderPlaced", order, now), None),
        ];
        // The bought products' holds end with the sale: buying again
        // later starts a fresh hold.
        let mut header = Update::builder()
            .table_name(&self.table)
            .key(PK, s(keys::cart_pk(&ticket.user)))
            .key(SK, s(keys::CART_HEADER_SK))
            .expression_attribute_names("#lines", "lines")
            .expression_attribute_values(":n", n(cart.len()));
        let mut holds = Vec::new();
        for (i, line) in cart.iter().enumerate() {
            holds.push(format!("#hold{i}"));
            header = header.expression_attribute_names(format!("#hold{i}"), keys::hold_attribute(&line.product_id));
        }
        let header = header
            .update_expression(format!("SET #lines = #lines - :n REMOVE {}", holds.join(", ")))
            .build()
            .expect("key and expression are set");
        actions.push(TransactWriteItem::builder().update(header).build());
        for line in cart {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(keys::cart_pk(&ticket.user)))
                .key(SK, s(keys::cart_line_sk(&line.product_id)))
                .condition_expression("#token = :token AND reservedUntil > :now")
                .expression_attribute_names("#token", "token")
                .expression_attribute_values(":token", s(line.token.as_str()))
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
            StockMove::Sell => (
                "SET reserved = reserved - :u, sold = sold + :u ADD moves :one",
                "reserved >= :u",
            ),
            StockMove::Return => (
                "SET sold = sold - :u, available = available + :u ADD moves :one",
                "sold >= :u",
            ),
        };
        let update = Update::builder()
            .table_name(&self.table)
            .key(PK, s(keys::product_pk(product)))
            .key(SK, s(keys::stock_sk(shard)));
        let update = correlation::stamp_update(update, expression)
            .condition_expression(condition)
            .expression_attribute_values(":u", n(units))
            .expression_attribute_values(":one", n(1))
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
            // The refund is owed from this moment: if the provider does not
            // answer, the reconciler finds this item and refunds.
            self.put_action(refund_owed_item(order, now), None),
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
        request: &PlaceOrder,
        now: Timestamp,
    ) -> Result<Claim, StoreError> {
        retry_lost_races(|| self.try_claim(user, key, fingerprint, request, now)).await
    }

    async fn note_payment(&self, ticket: &Ticket, payment: &NotedPayment) -> Result<bool, StoreError> {
        let update = self
            .record_update(ticket, "SET payment = :payment, chargeSeq = :seq")
            .expression_attribute_values(":payment", payment_map(payment))
            .expression_attribute_values(":seq", n(payment.seq));
        self.update_record(update.build().expect("key and expression are set"))
            .await
    }

    async fn forget_payment(&self, ticket: &Ticket, charge_seq: u32) -> Result<bool, StoreError> {
        let update = self
            .record_update(ticket, "SET chargeSeq = :seq REMOVE payment")
            .expression_attribute_values(":seq", n(charge_seq));
        self.update_record(update.build().expect("key and expression are set"))
            .await
    }

    async fn release(&self, ticket: &Ticket, audit: &Audit, now: Timestamp) -> Result<(), StoreError> {
        let at = clock::format(now);
        let (_, listing_sk) = stale_listing(&ticket.user, &ticket.key, &at);
        let update = self
            .record_update(ticket, "SET lockedUntil = :now, #gsk = :gsk")
            .expression_attribute_names("#gsk", keys::GSI1_SK)
            .expression_attribute_values(":now", s(&at))
            .expression_attribute_values(":gsk", s(listing_sk))
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
            self.complete_record(ticket, response, None, now),
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

impl StaleCheckouts for DynamoStore {
    async fn stale_checkouts(&self, before: Timestamp) -> Result<Vec<StaleCheckout>, StoreError> {
        let due = self
            .due_in_buckets(keys::CHECKOUT_BUCKETS, keys::checkouts_bucket_name, before)
            .await?;
        due.iter()
            .map(|item| {
                let a = Attrs::new(item);
                Ok(StaleCheckout {
                    user: a.parsed("userId", |v| UserId::parse(v))?,
                    key: a.parsed("idempotencyKey", IdempotencyKey::parse)?,
                    attempt: a.n("attempt")?,
                })
            })
            .collect()
    }

    async fn take_over(
        &self,
        stale: &StaleCheckout,
        now: Timestamp,
    ) -> Result<Option<(Ticket, PlaceOrder)>, StoreError> {
        let Some(stored) = self.resume(&stale.user, &stale.key, stale.attempt, now, true).await? else {
            return Ok(None);
        };
        let request = stored.request.clone().ok_or_else(|| StoreError::Corrupt {
            key: keys::idempotency_pk(&stale.user, &stale.key),
            problem: "an in-progress record without its request".into(),
        })?;
        let (attempt, created_at) = (stored.attempt, stored.record.created_at);
        Ok(Some((
            Ticket::new(&stale.user, &stale.key, attempt, created_at, Some(stored)),
            request,
        )))
    }
}

impl RefundsOwed for DynamoStore {
    async fn refunds_owed(&self, before: Timestamp) -> Result<Vec<RefundOwed>, StoreError> {
        let due = self
            .due_in_buckets(keys::REFUND_BUCKETS, keys::refunds_bucket_name, before)
            .await?;
        due.iter()
            .map(|item| {
                let a = Attrs::new(item);
                Ok(RefundOwed {
                    order: a.parsed("orderId", |v| OrderId::parse(v))?,
                    payment: PaymentId::new(a.s("paymentId")?),
                    tries: a.n("tries")?,
                })
            })
            .collect()
    }

    async fn count_refund_try(&self, owed: &RefundOwed) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::refund_owed_pk(&owed.order)))
            .key(SK, s(keys::REFUND_OWED_SK))
            .update_expression("ADD tries :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            // Refunded meanwhile: nothing to count.
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
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

    async fn mark_refunded(&self, order: &OrderId, refund_id: &str) -> Result<(), StoreError> {
        // The refund's event, for the shopper's email. Put without a
        // condition: repeating the mark overwrites the same outbox item,
        // which the relay does not forward again (only inserts are events).
        let refunded = match self.get(keys::order_pk(order), keys::ORDER_SK).await? {
            Some(item) => order_from_item(&item)?,
            None => {
                return Err(StoreError::Corrupt {
                    key: keys::order_pk(order),
                    problem: "a refund for an order that does not exist".into(),
                });
            }
        };
        let update = Update::builder()
            .table_name(&self.table)
            .key(PK, s(keys::order_pk(order)))
            .key(SK, s(keys::ORDER_SK))
            .update_expression("SET refundId = if_not_exists(refundId, :refund)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":refund", s(refund_id))
            .build()
            .expect("key and expression are set");
        let owed = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(keys::refund_owed_pk(order)))
            .key(SK, s(keys::REFUND_OWED_SK))
            .build()
            .expect("key is set");
        let actions = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().delete(owed).build(),
            self.put_action(outbox_item("OrderRefunded", &refunded, self.clock.now()), None),
        ];
        if !self.transact_first_guarded(actions).await? {
            return Err(StoreError::Corrupt {
                key: keys::order_pk(order),
                problem: "a refund for an order that does not exist".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_domain::order::CheckoutRefusal;

    fn answer(attributes: &[(&str, AttributeValue)]) -> StoredResponse {
        let item: Item = attributes.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        stored_response(&Attrs::new(&item)).unwrap()
    }

    #[test]
    fn a_placed_order_and_a_refusal_read_back_as_written() {
        assert_eq!(
            answer(&[("responseStatus", n(201)), ("responseBody", s("{\"orderId\":\"x\"}"))]),
            StoredResponse::Placed {
                body: "{\"orderId\":\"x\"}".into()
            }
        );
        let refusal = CheckoutRefusal::CheckoutInterrupted;
        assert_eq!(
            answer(&[("refusal", s(serde_json::to_string(&refusal).unwrap()))]),
            StoredResponse::Refused(refusal)
        );
    }

    #[test]
    fn a_refusal_rendered_by_an_earlier_version_is_replayed_as_it_was() {
        let body = r#"{"code":"CART_EMPTY","status":409}"#;
        assert_eq!(
            answer(&[("responseStatus", n(409)), ("responseBody", s(body))]),
            StoredResponse::Rendered {
                status: 409,
                body: body.into()
            }
        );
    }
}
