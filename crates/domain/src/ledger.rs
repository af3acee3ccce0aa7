//! Do stock and money add up? [`check`] is pure: it judges what the table
//! and the payment provider hold (the [`Books`]). The audit that reads them
//! and rechecks each finding is `shop_orders::audit`.
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

use crate::ids::{ProductId, UserId};
use crate::order::{OrderId, OrderStatus};
use crate::payment::{Payment, PaymentId, PaymentState};
use crate::stock::{Allocation, StockShard};
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

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

/// Checks the stock invariants alone, adding what it finds to `found` (the
/// audit rechecks one product's stock with it).
pub fn check_stock(books: &Books, found: &mut Vec<Discrepancy>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::payment::PaymentTags;

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
