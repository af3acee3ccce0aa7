//! The ledger audit: reads the books (the table page by page, through
//! `shop_store::ledger`, and the provider's payments), checks them with
//! `shop_domain::ledger::check`, and rechecks every finding before it
//! reports it, because shoppers keep writing while it reads.

use shop_domain::idempotency::IdempotencyKey;
use shop_domain::ids::{ProductId, UserId};
use shop_domain::ledger::{Books, Discrepancy, OrderEntry, check, check_stock};
use shop_domain::order::{OrderId, OrderStatus};
use shop_domain::payment::{PaymentError, PaymentState};
use shop_domain::time::Timestamp;
use shop_payments::PaymentProvider;
use shop_store::StoreError;
use shop_store::ledger::LedgerReader;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

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
