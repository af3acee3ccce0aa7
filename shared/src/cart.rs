//! The cart: lines that hold reserved stock for a limited time.
//!
//! Adding to the cart reserves stock (see [`crate::stock`]) and writes the line
//! in one transaction; every change renews the line's `reserved_until`. A line
//! whose time has passed is no longer reserved, whatever the table says,
//! until the sweeper returns its units.

use crate::ids::ProductId;
use crate::money::Money;
use crate::stock::Allocation;
use crate::time::Timestamp;
use serde::Serialize;

/// How long an add or change keeps the stock reserved.
pub const RESERVATION_TTL: time::Duration = time::Duration::minutes(30);
/// The most lines a cart holds, so that checkout's single transaction
/// (at most 100 actions) fits: per line a cart-line delete, an order line
/// and its stock shards, plus the order's own items.
pub const MAX_LINES_PER_CART: usize = 20;

/// One product in a shopper's cart.
#[derive(Debug, Clone, PartialEq)]
pub struct CartLine {
    pub product_id: ProductId,
    pub title: String,
    /// The price when the line was last changed.
    pub unit_price: Money,
    pub quantity: i64,
    pub reserved_until: Timestamp,
    /// Units held on each stock shard; they sum to `quantity`.
    pub taken: Allocation,
    /// Incremented on every change; writes and releases are conditional on it.
    pub version: u64,
}

impl CartLine {
    /// Whether the line still holds its stock at `now`.
    pub fn is_reserved(&self, now: Timestamp) -> bool {
        self.reserved_until > now
    }
}

/// The deadline a change made at `now` gives its line.
pub fn reservation_deadline(now: Timestamp) -> Timestamp {
    now + RESERVATION_TTL
}

/// A cart line as `GET /cart` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CartLineView {
    pub product_id: ProductId,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
    pub reserved_until: String,
    /// False once `reservedUntil` has passed: the stock is no longer held.
    pub reserved: bool,
}

impl CartLineView {
    pub fn new(line: &CartLine, now: Timestamp) -> Self {
        Self {
            product_id: line.product_id.clone(),
            title: line.title.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            line_total: Money::new(line.unit_price.amount * line.quantity, line.unit_price.currency),
            reserved_until: crate::time::format(line.reserved_until),
            reserved: line.is_reserved(now),
        }
    }
}

/// The whole cart: `{ items, subtotal, itemCount }`. The subtotal and count
/// cover only lines that still hold their stock.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CartView {
    pub items: Vec<CartLineView>,
    pub subtotal: Money,
    pub item_count: i64,
}

impl CartView {
    pub fn new(lines: &[CartLine], now: Timestamp) -> Self {
        let items: Vec<CartLineView> = lines.iter().map(|l| CartLineView::new(l, now)).collect();
        let held = items.iter().filter(|i| i.reserved);
        let subtotal = held.clone().map(|i| i.line_total.amount).sum();
        Self {
            subtotal: Money::new(subtotal, crate::catalog::SHOP_CURRENCY),
            item_count: held.map(|i| i.quantity).sum(),
            items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn line(id: &str, quantity: i64, price: i64, reserved_until: Timestamp) -> CartLine {
        CartLine {
            product_id: ProductId::parse(id).unwrap(),
            title: id.to_owned(),
            unit_price: Money::new(price, Currency::USD),
            quantity,
            reserved_until,
            taken: Allocation::from([(0, quantity)]),
            version: 1,
        }
    }

    #[test]
    fn an_expired_line_is_shown_but_not_counted_as_reserved() {
        let now = crate::time::parse("2026-11-26T10:00:00Z").unwrap();
        let cart = CartView::new(
            &[
                line("A", 2, 1000, reservation_deadline(now)),
                line("B", 1, 599, now - time::Duration::seconds(1)),
            ],
            now,
        );
        assert_eq!(cart.items.len(), 2);
        assert!(cart.items[0].reserved);
        assert!(!cart.items[1].reserved);
        assert_eq!(cart.subtotal, Money::new(2000, Currency::USD));
        assert_eq!(cart.item_count, 2);
    }

    #[test]
    fn a_line_expires_exactly_at_its_deadline() {
        let now = crate::time::parse("2026-11-26T10:00:00Z").unwrap();
        let l = line("A", 1, 100, reservation_deadline(now));
        assert!(l.is_reserved(now + RESERVATION_TTL - time::Duration::milliseconds(1)));
        assert!(!l.is_reserved(now + RESERVATION_TTL));
    }
}
