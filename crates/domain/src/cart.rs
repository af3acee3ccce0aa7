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
/// The longest one shopper can hold one product, however often the line is
/// changed, removed and added again: counted from the hold's first
/// reservation. Without it, a script renewing every 29 minutes would keep
/// a flash sale's stock off the shelf for good.
pub const MAX_HOLD: time::Duration = time::Duration::minutes(60);
/// After a hold reaches [`MAX_HOLD`], the units are on sale to everyone
/// else for this long before the same shopper may hold that product again.
pub const HOLD_COOLDOWN: time::Duration = time::Duration::minutes(15);
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
    /// When this shopper's hold on the product began (see [`MAX_HOLD`]).
    pub held_since: Timestamp,
    /// Units held on each stock shard; they sum to `quantity`.
    pub taken: Allocation,
    /// A new random value on every write of the line (see [`LineToken`]);
    /// every change, release and sale is conditional on it.
    pub token: LineToken,
}

/// Names one write of a cart line. A counter would restart when a line is
/// deleted and created again, so a writer that read the old line could
/// change the new one; a ULID is never reused, so a condition on it holds
/// only for the exact line that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineToken(String);

impl LineToken {
    /// A token no line has had before.
    pub fn fresh() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    /// A token as stored.
    pub fn from_stored(token: &str) -> Self {
        Self(token.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl CartLine {
    /// Whether the line still holds its stock at `now`.
    pub fn is_reserved(&self, now: Timestamp) -> bool {
        self.reserved_until > now
    }
}

/// The deadline a change made at `now` gives a line held since
/// `held_since`: the usual 30 minutes, but never past the hold's cap.
pub fn reservation_deadline(now: Timestamp, held_since: Timestamp) -> Timestamp {
    (now + RESERVATION_TTL).min(held_since + MAX_HOLD)
}

/// Whether a shopper may reserve a product at `now`, given when their
/// latest hold on it began (`None`: no hold in the last
/// `MAX_HOLD + HOLD_COOLDOWN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Yes: the hold began (or begins) at this time.
    Since(Timestamp),
    /// No: the hold reached its cap; the shopper may hold the product
    /// again from `until`.
    Spent { until: Timestamp },
}

pub fn hold(latest: Option<Timestamp>, now: Timestamp) -> Hold {
    match latest {
        Some(since) if now < since + MAX_HOLD => Hold::Since(since),
        Some(since) if now < since + MAX_HOLD + HOLD_COOLDOWN => Hold::Spent {
            until: since + MAX_HOLD + HOLD_COOLDOWN,
        },
        _ => Hold::Since(now),
    }
}

/// Whether a hold that began at `since` is over, cooldown included, at
/// `now` (the cart header forgets it then).
pub fn hold_forgotten(since: Timestamp, now: Timestamp) -> bool {
    now >= since + MAX_HOLD + HOLD_COOLDOWN
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
            held_since: reserved_until - RESERVATION_TTL,
            taken: Allocation::from([(0, quantity)]),
            token: LineToken::fresh(),
        }
    }

    #[test]
    fn an_expired_line_is_shown_but_not_counted_as_reserved() {
        let now = crate::time::parse("2026-11-26T10:00:00Z").unwrap();
        let cart = CartView::new(
            &[
                line("A", 2, 1000, reservation_deadline(now, now)),
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
        let l = line("A", 1, 100, reservation_deadline(now, now));
        assert!(l.is_reserved(now + RESERVATION_TTL - time::Duration::milliseconds(1)));
        assert!(!l.is_reserved(now + RESERVATION_TTL));
    }

    #[test]
    fn renewing_never_holds_a_product_past_the_cap() {
        let start = crate::time::parse("2026-11-26T10:00:00Z").unwrap();
        assert_eq!(reservation_deadline(start, start), start + RESERVATION_TTL);
        let late = start + time::Duration::minutes(45);
        assert_eq!(reservation_deadline(late, start), start + MAX_HOLD);
    }

    #[test]
    fn a_hold_continues_until_its_cap_then_cools_down_then_starts_afresh() {
        let start = crate::time::parse("2026-11-26T10:00:00Z").unwrap();
        let at = |minutes| start + time::Duration::minutes(minutes);
        assert_eq!(hold(None, start), Hold::Since(start));
        assert_eq!(
            hold(Some(start), at(59)),
            Hold::Since(start),
            "removing and adding again keeps the clock"
        );
        assert_eq!(hold(Some(start), at(60)), Hold::Spent { until: at(75) });
        assert_eq!(hold(Some(start), at(74)), Hold::Spent { until: at(75) });
        assert_eq!(hold(Some(start), at(75)), Hold::Since(at(75)));
        assert!(!hold_forgotten(start, at(74)));
        assert!(hold_forgotten(start, at(75)));
    }
}
