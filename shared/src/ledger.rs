//! The ledger audit: do stock and money add up? [`check`] is pure: it
//! judges what the table and the payment provider hold. [`audit`] reads
//! them (the table page by page, through `store::ledger`), checks, and
//! rechecks every finding before it reports it, because shoppers keep
//! writing while it reads.
//!
//! The invariants (`docs/reservations.md` and `docs/checkout.md` explain why
//! the writes keep them):
//!
//! - on every stock shard, `on_hand = available + reserved + sold`, none negative;
//! - a shard's `reserved` is the sum of the units the cart lines hold on it;
//! - a product's `sold` is the sum of the units of its orders that are not cancelled;
//! - every payment that holds the shopper's money (charged, not refunded)
//!   belongs to exactly one order that is not cancelled, or is in flight: a
//!   checkout still holds it, or a cancelled order's refund is owed;
//! - no order that is not cancelled rests on a refunded payment, and every
//!   order's payment was charged.

use crate::idempotency::IdempotencyKey;
use crate::ids::{ProductId, UserId};
use crate::order::{OrderId, OrderStatus};
use crate::payments::{Payment, PaymentError, PaymentId, PaymentProvider, PaymentState};
use crate::stock::{Allocation, StockShard};
use crate::store::StoreError;
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;

/// A cart line as the audit needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLine {
    pub user: UserId,
    pub product: ProductId,
    pub taken: Allocation,
}

/// An order as the audit needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEntry {
    pub id: OrderId,
    pub status: OrderStatus,
    /// Units per product.
    pub units: BTreeMap<ProductId, i64>,
    pub payment: PaymentId,
    /// The shop recorded the payment's refund.
    pub refunded: bool,
    pub created_at: Timestamp,
}

/// Everything the audit reads.
#[derive(Debug, Clone)]
pub struct Books {
    pub shards: BTreeMap<ProductId, Vec<StockShard>>,
    pub lines: Vec<HeldLine>,
    pub orders: Vec<OrderEntry>,
    /// Payments named by checkouts that still hold their key.
    pub checkouts_in_flight: BTreeSet<PaymentId>,
    /// Cancelled orders whose refund is still owed (the reconciler retries).
    pub refunds_owed: BTreeSet<OrderId>,
    /// The provider's payments created at or after `payments_since`.
    pub payments: Vec<Payment>,
    /// Orders placed a day after this must find their payment listed.
    pub payments_since: Timestamp,
}

/// One way the books do not add up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Discrepancy {
    /// `on_hand != available + reserved + sold`, or a count is negative.
    Shard {
        product: ProductId,
        shard: u8,
        on_hand: i64,
        available: i64,
        reserved: i64,
        sold: i64,
    },
    /// A shard holds more or fewer units reserved than the cart lines do.
    Reserved {
        product: ProductId,
        shard: u8,
        reserved: i64,
        in_carts: i64,
    },
    /// The product's shards count more or fewer units sold than its orders.
    Sold {
        product: ProductId,
        sold: i64,
        in_orders: i64,
    },
    /// Money kept without an order, a checkout or a refund owed.
    PaymentWithoutOrder { payment: PaymentId },
    /// One payment behind several orders.
    PaymentOfSeveralOrders { payment: PaymentId, orders: Vec<OrderId> },
    /// An order that is not cancelled, on a refunded payment.
    OrderOnRefundedPayment { order: OrderId, payment: PaymentId },
    /// An order whose payment never took the money.
    OrderNotPaid { order: OrderId, payment: PaymentId },
    /// A cancelled order whose money was neither refunded nor owed.
    CancelledNotRefunded { order: OrderId, payment: PaymentId },
}

impl Discrepancy {
    /// The product a stock discrepancy is about.
    pub fn product(&self) -> Option<&ProductId> {
        match self {
            Self::Shard { product, .. } | Self::Reserved { product, .. } | Self::Sold { product, .. } => Some(product),
            _ => None,
        }
    }
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shard {
                product,
                shard,
                on_hand,
                available,
                reserved,
                sold,
            } => write!(
                f,
                "{product} shard {shard}: on hand {on_hand} but available {available} + reserved {reserved} + sold \
                 {sold} = {}",
                available + reserved + sold
            ),
            Self::Reserved {
                product,
                shard,
                reserved,
                in_carts,
            } => write!(
                f,
                "{product} shard {shard}: {reserved} reserved but cart lines hold {in_carts}"
            ),
            Self::Sold {
                product,
                sold,
                in_orders,
            } => write!(f, "{product}: {sold} sold but orders not cancelled hold {in_orders}"),
            Self::PaymentWithoutOrder { payment } => write!(
                f,
                "payment {payment} holds the shopper's money but has no order, no checkout in flight and no refund owed"
            ),
            Self::PaymentOfSeveralOrders { payment, orders } => {
                let orders: Vec<&str> = orders.iter().map(OrderId::as_str).collect();
                write!(f, "payment {payment} pays for several orders: {}", orders.join(", "))
            }
            Self::OrderOnRefundedPayment { order, payment } => {
                write!(
                    f,
                    "order {order} is not cancelled but its payment {payment} was refunded"
                )
            }
            Self::OrderNotPaid { order, payment } => {
                write!(f, "order {order}: its payment {payment} never took the money")
            }
            Self::CancelledNotRefunded { order, payment } => write!(
                f,
                "order {order} is cancelled but its payment {payment} is neither refunded nor owed a refund"
            ),
        }
    }
}

/// Checks every invariant over `books`; an empty answer means they add up.
pub fn check(books: &Books) -> Vec<Discrepancy> {
    let mut found = Vec::new();
    check_stock(books, &mut found);
    check_money(books, &mut found);
    found.sort();
    found
}

fn check_stock(books: &Books, found: &mut Vec<Discrepancy>) {
    let mut in_carts: BTreeMap<(&ProductId, u8), i64> = BTreeMap::new();
    for line in &books.lines {
        for (shard, units) in &line.taken {
            *in_carts.entry((&line.product, *shard)).or_default() += units;
        }
    }
    let mut in_orders: BTreeMap<&ProductId, i64> = BTreeMap::new();
    for order in books.orders.iter().filter(|o| o.status != OrderStatus::Cancelled) {
        for (product, units) in &order.units {
            *in_orders.entry(product).or_default() += units;
        }
    }
    for (product, shards) in &books.shards {
        for s in shards {
            if !s.is_consistent() {
                found.push(Discrepancy::Shard {
                    product: product.clone(),
                    shard: s.shard,
                    on_hand: s.on_hand,
                    available: s.available,
                    reserved: s.reserved,
                    sold: s.sold,
                });
            }
            let held = in_carts.remove(&(product, s.shard)).unwrap_or(0);
            if held != s.reserved {
                found.push(Discrepancy::Reserved {
                    product: product.clone(),
                    shard: s.shard,
                    reserved: s.reserved,
                    in_carts: held,
                });
            }
        }
        let sold: i64 = shards.iter().map(|s| s.sold).sum();
        let ordered = in_orders.remove(product).unwrap_or(0);
        if sold != ordered {
            found.push(Discrepancy::Sold {
                product: product.clone(),
                sold,
                in_orders: ordered,
            });
        }
    }
    // Lines and orders of products (or shards) that have no stock items.
    for ((product, shard), in_carts) in in_carts {
        found.push(Discrepancy::Reserved {
            product: product.clone(),
            shard,
            reserved: 0,
            in_carts,
        });
    }
    for (product, in_orders) in in_orders {
        found.push(Discrepancy::Sold {
            product: product.clone(),
            sold: 0,
            in_orders,
        });
    }
}

fn check_money(books: &Books, found: &mut Vec<Discrepancy>) {
    let mut orders_of: BTreeMap<&PaymentId, Vec<&OrderEntry>> = BTreeMap::new();
    for order in &books.orders {
        orders_of.entry(&order.payment).or_default().push(order);
    }
    let payments: BTreeMap<&PaymentId, &Payment> = books.payments.iter().map(|p| (&p.id, p)).collect();
    for payment in &books.payments {
        let orders = orders_of.get(&payment.id).map(Vec::as_slice).unwrap_or_default();
        if orders.len() > 1 {
            found.push(Discrepancy::PaymentOfSeveralOrders {
                payment: payment.id.clone(),
                orders: orders.iter().map(|o| o.id.clone()).collect(),
            });
        }
        // A payment the shop did not make (no tags: e.g. made by hand in
        // the provider's dashboard) is not the shop's to judge.
        let ours = payment.tags.is_some();
        if ours && payment.state.is_captured() && orders.is_empty() && !books.checkouts_in_flight.contains(&payment.id)
        {
            found.push(Discrepancy::PaymentWithoutOrder {
                payment: payment.id.clone(),
            });
        }
    }
    for order in &books.orders {
        let state = payments.get(&order.payment).map(|p| &p.state);
        let cancelled = order.status == OrderStatus::Cancelled;
        match state {
            Some(PaymentState::Refunded) if !cancelled => found.push(Discrepancy::OrderOnRefundedPayment {
                order: order.id.clone(),
                payment: order.payment.clone(),
            }),
            Some(PaymentState::Succeeded) if cancelled && !books.refunds_owed.contains(&order.id) => {
                found.push(Discrepancy::CancelledNotRefunded {
                    order: order.id.clone(),
                    payment: order.payment.clone(),
                })
            }
            Some(PaymentState::Succeeded | PaymentState::Refunded) => {}
            // Listed, but never took the money; or not listed though it
            // must be (payments are listed from `payments_since`, and a
            // payment is made before its order, at most a day before).
            Some(_) => found.push(Discrepancy::OrderNotPaid {
                order: order.id.clone(),
                payment: order.payment.clone(),
            }),
            None if order.created_at >= books.payments_since + time::Duration::days(1) => {
                found.push(Discrepancy::OrderNotPaid {
                    order: order.id.clone(),
                    payment: order.payment.clone(),
                })
            }
            None => {}
        }
    }
}

// ---------------------------------------------------------------------------
// The audit: read, check, recheck.

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

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Payments(#[from] PaymentError),
}

/// What the books hold, in numbers, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub products: usize,
    pub shards: usize,
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
    pub sold: i64,
    pub cart_lines: usize,
    pub orders: usize,
    pub orders_cancelled: usize,
    pub payments_captured: usize,
    pub payments_refunded: usize,
    pub checkouts_in_flight: usize,
    pub refunds_owed: usize,
}

impl Totals {
    fn of(books: &Books) -> Self {
        let shards = books.shards.values().flatten();
        let payments = |state: PaymentState| books.payments.iter().filter(|p| p.state == state).count();
        Self {
            products: books.shards.len(),
            shards: shards.clone().count(),
            on_hand: shards.clone().map(|s| s.on_hand).sum(),
            available: shards.clone().map(|s| s.available).sum(),
            reserved: shards.clone().map(|s| s.reserved).sum(),
            sold: shards.map(|s| s.sold).sum(),
            cart_lines: books.lines.len(),
            orders: books.orders.len(),
            orders_cancelled: books
                .orders
                .iter()
                .filter(|o| o.status == OrderStatus::Cancelled)
                .count(),
            payments_captured: payments(PaymentState::Succeeded),
            payments_refunded: payments(PaymentState::Refunded),
            checkouts_in_flight: books.checkouts_in_flight.len(),
            refunds_owed: books.refunds_owed.len(),
        }
    }
}

/// The audit's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub totals: Totals,
    /// Findings that held on their recheck.
    pub discrepancies: Vec<Discrepancy>,
    /// Products whose stock kept moving through every recheck: neither
    /// confirmed nor cleared (the next audit sees them again).
    pub unsettled: Vec<ProductId>,
    /// Findings of the first reading that their recheck showed to be
    /// changes in flight.
    pub cleared: usize,
}

impl AuditReport {
    pub fn is_clean(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

/// The report as `devstack audit` prints it: the totals, then every
/// discrepancy on its own line.
impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.totals;
        writeln!(
            f,
            "stock: {} products on {} shards; on hand {} = available {} + reserved {} + sold {}",
            t.products, t.shards, t.on_hand, t.available, t.reserved, t.sold
        )?;
        writeln!(
            f,
            "carts: {} lines; orders: {} ({} cancelled); payments: {} captured, {} refunded; in flight: {} checkouts, {} refunds owed",
            t.cart_lines,
            t.orders,
            t.orders_cancelled,
            t.payments_captured,
            t.payments_refunded,
            t.checkouts_in_flight,
            t.refunds_owed
        )?;
        if self.cleared > 0 {
            writeln!(
                f,
                "{} findings of the first reading were changes in flight (cleared by their recheck)",
                self.cleared
            )?;
        }
        for product in &self.unsettled {
            writeln!(f, "unsettled: {product}'s stock kept moving through every recheck")?;
        }
        for discrepancy in &self.discrepancies {
            writeln!(f, "DISCREPANCY: {discrepancy}")?;
        }
        write!(f, "{} discrepancies", self.discrepancies.len())
    }
}

/// How far back the scheduled audit judges payments (the provider lists
/// them by creation time; stock is always audited whole).
pub const PAYMENT_WINDOW: time::Duration = time::Duration::days(35);

/// How often a product whose stock moved during a recheck is read again.
const RECHECK_ROUNDS: u32 = 5;

/// Audits the whole ledger: every stock shard and every payment made since
/// `payments_since`. Nothing is reported from one reading alone: a finding
/// is read again in an order that cannot mistake a change in flight for a
/// discrepancy (see [`recheck_stock`] and [`recheck_money`]).
pub async fn audit<L, P>(store: &L, payments: &P, payments_since: Timestamp) -> Result<AuditReport, AuditError>
where
    L: LedgerReader,
    P: PaymentProvider,
{
    // Payments first: whatever the table shows afterwards is at least as new.
    let listed = payments.list(payments_since).await?;
    let mut books = store.read_books(payments_since).await?;
    books.payments = listed;
    let totals = Totals::of(&books);
    let found = check(&books);
    if found.is_empty() {
        return Ok(AuditReport {
            totals,
            discrepancies: found,
            unsettled: Vec::new(),
            cleared: 0,
        });
    }
    tracing::info!(findings = found.len(), "the ledger audit rechecks what it found");
    let products: BTreeSet<ProductId> = found.iter().filter_map(Discrepancy::product).cloned().collect();
    let (mut discrepancies, unsettled) = recheck_stock(store, products, payments_since).await?;
    for finding in found.iter().filter(|f| f.product().is_none()) {
        if recheck_money(store, payments, &books, finding).await? {
            discrepancies.push(finding.clone());
        }
    }
    discrepancies.sort();
    // A product can stand behind several stock findings; count each finding once.
    let unsettled_findings = found
        .iter()
        .filter(|f| f.product().is_some_and(|p| unsettled.contains(p)))
        .count();
    let cleared = found.len().saturating_sub(discrepancies.len() + unsettled_findings);
    Ok(AuditReport {
        totals,
        discrepancies,
        unsettled,
        cleared,
    })
}

/// Rechecks the stock of `products`: reads their shards, every line and
/// order again, then their shards once more. Every change to the units a
/// line or an order holds moves the product's shards in the same
/// transaction (and counts in `moves`), so when the shards read the same
/// before and after, the lines and orders read between are exactly the
/// ones behind those counts. A product whose shards moved is read again,
/// at most [`RECHECK_ROUNDS`] times.
async fn recheck_stock<L: LedgerReader>(
    store: &L,
    mut products: BTreeSet<ProductId>,
    payments_since: Timestamp,
) -> Result<(Vec<Discrepancy>, Vec<ProductId>), StoreError> {
    let mut confirmed = Vec::new();
    for round in 0..RECHECK_ROUNDS {
        if products.is_empty() {
            break;
        }
        if round > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 << round)).await;
        }
        let mut before = BTreeMap::new();
        for product in &products {
            before.insert(product.clone(), store.shards_of(product).await?);
        }
        let again = store.read_books(payments_since).await?;
        for product in products.clone() {
            let after = store.shards_of(&product).await?;
            if before.get(&product) != Some(&after) {
                continue;
            }
            products.remove(&product);
            let only = |p: &ProductId| *p == product;
            let books = Books {
                shards: BTreeMap::from([(product.clone(), after)]),
                lines: again.lines.iter().filter(|l| only(&l.product)).cloned().collect(),
                orders: again
                    .orders
                    .iter()
                    .map(|o| OrderEntry {
                        units: o
                            .units
                            .iter()
                            .filter(|(p, _)| only(p))
                            .map(|(p, u)| (p.clone(), *u))
                            .collect(),
                        ..o.clone()
                    })
                    .collect(),
                checkouts_in_flight: BTreeSet::new(),
                refunds_owed: BTreeSet::new(),
                payments: Vec::new(),
                payments_since,
            };
            let mut found = Vec::new();
            check_stock(&books, &mut found);
            confirmed.extend(found);
        }
    }
    Ok((confirmed, products.into_iter().collect()))
}

/// Rechecks one money finding by reading its items again, each in the order
/// its changes happen (a payment is charged before its order exists, an
/// order is cancelled with its refund owed before the refund, the refund is
/// made before it is recorded), so that a change in flight reads as in
/// flight, never as a discrepancy. `true` if the finding holds.
async fn recheck_money<L, P>(store: &L, payments: &P, books: &Books, finding: &Discrepancy) -> Result<bool, AuditError>
where
    L: LedgerReader,
    P: PaymentProvider,
{
    let captured = |state: &PaymentState| state.is_captured();
    Ok(match finding {
        Discrepancy::PaymentWithoutOrder { payment } => {
            let Some(tags) = books
                .payments
                .iter()
                .find(|p| &p.id == payment)
                .and_then(|p| p.tags.clone())
            else {
                return Ok(false);
            };
            // The checkout first, then its order, then the refund owed,
            // then the payment itself.
            let user = UserId::parse(&tags.user_id).map_err(StoreError::Rejected)?;
            let key = IdempotencyKey::parse(&tags.checkout_key).map_err(StoreError::Rejected)?;
            if store.checkout_holds(&user, &key).await?.as_ref() == Some(payment) {
                return Ok(false);
            }
            let order = match OrderId::parse(tags.order_id.as_str()) {
                Ok(id) => store.order_entry(&id).await?.filter(|o| &o.payment == payment),
                Err(_) => None,
            };
            if let Some(order) = &order
                && (order.status != OrderStatus::Cancelled || store.refund_is_owed(&order.id).await?)
            {
                return Ok(false);
            }
            captured(&payments.retrieve(payment).await?.state)
        }
        Discrepancy::OrderOnRefundedPayment { order, payment } => {
            // The payment first: refunded before the order is read.
            payments.retrieve(payment).await?.state == PaymentState::Refunded
                && store
                    .order_entry(order)
                    .await?
                    .is_some_and(|o| o.status != OrderStatus::Cancelled)
        }
        Discrepancy::CancelledNotRefunded { order, payment } => {
            let cancelled = store
                .order_entry(order)
                .await?
                .is_some_and(|o| o.status == OrderStatus::Cancelled);
            cancelled && !store.refund_is_owed(order).await? && captured(&payments.retrieve(payment).await?.state)
        }
        Discrepancy::OrderNotPaid { order, payment } => {
            // The order first, then its payment (made before it). A payment
            // the provider does not know is not paid; a provider that does
            // not answer fails the audit rather than raising a false alarm.
            if store.order_entry(order).await?.is_none() {
                return Ok(false);
            }
            match payments.retrieve(payment).await {
                Ok(p) => !matches!(p.state, PaymentState::Succeeded | PaymentState::Refunded),
                Err(PaymentError::Rejected(_)) => true,
                Err(unavailable) => return Err(unavailable.into()),
            }
        }
        // Nothing legitimate ever makes two orders share a payment.
        Discrepancy::PaymentOfSeveralOrders { payment, orders } => {
            let mut still = 0;
            for order in orders {
                still += usize::from(store.order_entry(order).await?.is_some_and(|o| &o.payment == payment));
            }
            still > 1
        }
        Discrepancy::Shard { .. } | Discrepancy::Reserved { .. } | Discrepancy::Sold { .. } => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::payments::PaymentTags;

    fn id(p: &str) -> ProductId {
        ProductId::parse(p).unwrap()
    }

    fn order_id(n: u8) -> OrderId {
        OrderId::derive(&[n; 32])
    }

    fn at() -> Timestamp {
        crate::time::parse("2026-12-01T10:00:00Z").unwrap()
    }

    fn shard(shard: u8, available: i64, reserved: i64, sold: i64) -> StockShard {
        StockShard {
            on_hand: available + reserved + sold,
            available,
            reserved,
            sold,
            ..StockShard::empty(shard)
        }
    }

    fn payment(n: u8, state: PaymentState) -> Payment {
        Payment {
            id: PaymentId::new(format!("pi_{n}")),
            amount: Money::new(1000, Currency::USD),
            state,
            tags: Some(PaymentTags {
                order_id: order_id(n).to_string(),
                user_id: "alice".into(),
                checkout_key: format!("k{n}"),
            }),
        }
    }

    fn order(n: u8, status: OrderStatus, units: i64) -> OrderEntry {
        OrderEntry {
            id: order_id(n),
            status,
            units: BTreeMap::from([(id("A"), units)]),
            payment: PaymentId::new(format!("pi_{n}")),
            refunded: false,
            created_at: at(),
        }
    }

    /// A: one shard, 2 in alice's cart, 3 sold in order 1 (paid), 1 in
    /// cancelled and refunded order 2.
    fn books() -> Books {
        Books {
            shards: BTreeMap::from([(id("A"), vec![shard(0, 5, 2, 3)])]),
            lines: vec![HeldLine {
                user: UserId::parse("alice").unwrap(),
                product: id("A"),
                taken: Allocation::from([(0, 2)]),
            }],
            orders: vec![order(1, OrderStatus::Confirmed, 3), order(2, OrderStatus::Cancelled, 1)],
            checkouts_in_flight: BTreeSet::new(),
            refunds_owed: BTreeSet::new(),
            payments: vec![payment(1, PaymentState::Succeeded), payment(2, PaymentState::Refunded)],
            payments_since: at() - time::Duration::days(30),
        }
    }

    #[test]
    fn books_that_add_up_have_no_discrepancy() {
        assert_eq!(check(&books()), []);
    }

    #[test]
    fn a_shard_whose_counts_do_not_add_up_is_found() {
        let mut b = books();
        b.shards.get_mut(&id("A")).unwrap()[0].on_hand += 1;
        assert!(matches!(
            check(&b)[..],
            [Discrepancy::Shard {
                shard: 0,
                on_hand: 11,
                ..
            }]
        ));
    }

    #[test]
    fn units_reserved_by_no_cart_line_are_found() {
        let mut b = books();
        b.lines.clear();
        assert_eq!(
            check(&b),
            [Discrepancy::Reserved {
                product: id("A"),
                shard: 0,
                reserved: 2,
                in_carts: 0
            }]
        );
    }

    #[test]
    fn a_line_on_a_shard_that_does_not_exist_is_found() {
        let mut b = books();
        b.lines[0].taken = Allocation::from([(0, 2), (3, 1)]);
        assert_eq!(
            check(&b),
            [Discrepancy::Reserved {
                product: id("A"),
                shard: 3,
                reserved: 0,
                in_carts: 1
            }]
        );
    }

    #[test]
    fn units_sold_that_no_order_holds_are_found() {
        let mut b = books();
        b.orders[0].units.insert(id("A"), 2);
        assert_eq!(
            check(&b),
            [Discrepancy::Sold {
                product: id("A"),
                sold: 3,
                in_orders: 2
            }]
        );
    }

    #[test]
    fn money_kept_without_an_order_is_found_unless_a_checkout_still_holds_it() {
        let mut b = books();
        b.payments.push(payment(3, PaymentState::Succeeded));
        assert_eq!(
            check(&b),
            [Discrepancy::PaymentWithoutOrder {
                payment: PaymentId::new("pi_3")
            }]
        );
        b.checkouts_in_flight.insert(PaymentId::new("pi_3"));
        assert_eq!(check(&b), []);
        // A payment the shop did not make is not the shop's to judge.
        b.checkouts_in_flight.clear();
        b.payments.last_mut().unwrap().tags = None;
        assert_eq!(check(&b), []);
    }

    #[test]
    fn an_order_on_a_refunded_payment_is_found() {
        let mut b = books();
        b.payments[0].state = PaymentState::Refunded;
        assert_eq!(
            check(&b),
            [Discrepancy::OrderOnRefundedPayment {
                order: order_id(1),
                payment: PaymentId::new("pi_1")
            }]
        );
    }

    #[test]
    fn a_cancelled_order_keeping_the_money_is_found_unless_its_refund_is_owed() {
        let mut b = books();
        b.payments[1].state = PaymentState::Succeeded;
        assert_eq!(
            check(&b),
            [Discrepancy::CancelledNotRefunded {
                order: order_id(2),
                payment: PaymentId::new("pi_2")
            }]
        );
        b.refunds_owed.insert(order_id(2));
        assert_eq!(check(&b), []);
    }

    #[test]
    fn two_orders_on_one_payment_and_an_order_never_paid_are_found() {
        let mut b = books();
        let mut twin = order(1, OrderStatus::Confirmed, 0);
        twin.id = order_id(9);
        b.orders.push(twin);
        b.payments[1].state = PaymentState::Cancelled;
        let found = check(&b);
        assert!(found.contains(&Discrepancy::PaymentOfSeveralOrders {
            payment: PaymentId::new("pi_1"),
            orders: vec![order_id(1), order_id(9)],
        }));
        assert!(found.contains(&Discrepancy::OrderNotPaid {
            order: order_id(2),
            payment: PaymentId::new("pi_2"),
        }));
    }

    #[test]
    fn an_order_whose_payment_is_missing_is_found_only_inside_the_window() {
        let mut b = books();
        b.payments.remove(0);
        assert!(matches!(&check(&b)[..], [Discrepancy::OrderNotPaid { .. }]));
        b.payments_since = at();
        assert_eq!(check(&b), [], "placed before the payments listed: not judged");
    }
}
