//! What an order costs, in one pure function: subtotal, tax, shipping and
//! total, in integer minor units, and when it should arrive.

use crate::money::{Currency, Money};
use serde::Serialize;
use time::{Date, Weekday};

/// Sales tax, in percent of the subtotal.
pub const TAX_PERCENT: i64 = 8;
/// Orders whose subtotal is over this ($50.00) ship free.
pub const FREE_SHIPPING_OVER: i64 = 50_00;
/// The shipping fee otherwise ($5.99).
pub const SHIPPING_FEE: i64 = 5_99;
/// Business days from the order to its estimated delivery.
pub const DELIVERY_BUSINESS_DAYS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub subtotal: Money,
    pub tax: Money,
    pub shipping: Money,
    pub total: Money,
}

/// Prices lines of `(unit price, quantity)`, all in `currency`.
pub fn price(lines: impl IntoIterator<Item = (Money, i64)>, currency: Currency) -> Totals {
    let subtotal: i64 = lines.into_iter().map(|(unit, quantity)| unit.amount * quantity).sum();
    let tax = percent_half_up(subtotal, TAX_PERCENT);
    let shipping = if subtotal > FREE_SHIPPING_OVER { 0 } else { SHIPPING_FEE };
    let money = |amount| Money::new(amount, currency);
    Totals {
        subtotal: money(subtotal),
        tax: money(tax),
        shipping: money(shipping),
        total: money(subtotal + tax + shipping),
    }
}

/// `amount × percent / 100`, rounded half-up to the minor unit.
fn percent_half_up(amount: i64, percent: i64) -> i64 {
    (amount * percent + 50).div_euclid(100)
}

/// The estimated delivery date of an order placed on `ordered`: five
/// business days later, skipping Saturdays and Sundays.
pub fn estimated_delivery(ordered: Date) -> Date {
    let mut day = ordered;
    let mut left = DELIVERY_BUSINESS_DAYS;
    while left > 0 {
        day = day.next_day().unwrap_or(day);
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::USD)
    }

    fn totals(lines: &[(i64, i64)]) -> (i64, i64, i64, i64) {
        let t = price(lines.iter().map(|(unit, qty)| (usd(*unit), *qty)), Currency::USD);
        (t.subtotal.amount, t.tax.amount, t.shipping.amount, t.total.amount)
    }

    #[test]
    fn exactly_fifty_dollars_still_pays_shipping() {
        assert_eq!(totals(&[(50_00, 1)]), (50_00, 4_00, 5_99, 59_99));
    }

    #[test]
    fn one_cent_over_fifty_dollars_ships_free() {
        // 8% of $50.01 is 400.08 cents: rounded to $4.00.
        assert_eq!(totals(&[(50_01, 1)]), (50_01, 4_00, 0, 54_01));
    }

    #[test]
    fn tax_rounds_half_up_to_the_cent() {
        // 8% of $19.99 = 159.92 cents → $1.60; of 7 cents = 0.56 → 1 cent; of 6 cents = 0.48 → 0.
        assert_eq!(totals(&[(19_99, 1)]).1, 1_60);
        assert_eq!(totals(&[(7, 1)]).1, 1);
        assert_eq!(totals(&[(6, 1)]).1, 0);
        // 8% of $0.75 = 6 cents exactly; of 31 cents = 2.48 → 2; of 32 cents = 2.56 → 3.
        assert_eq!(totals(&[(75, 1)]).1, 6);
        assert_eq!(totals(&[(31, 1)]).1, 2);
        assert_eq!(totals(&[(32, 1)]).1, 3);
        // The half itself rounds up (8% never lands on a half cent; test the rule).
        assert_eq!(percent_half_up(25, 2), 1);
        assert_eq!(percent_half_up(75, 2), 2);
    }

    #[test]
    fn lines_multiply_by_quantity_and_add_up() {
        assert_eq!(totals(&[(12_50, 2), (5_00, 3)]), (40_00, 3_20, 5_99, 49_19));
    }

    #[test]
    fn delivery_is_five_business_days_later() {
        // Thursday → the next Thursday; Friday → the next Friday.
        assert_eq!(estimated_delivery(date!(2026 - 11 - 26)), date!(2026 - 12 - 03));
        assert_eq!(estimated_delivery(date!(2026 - 11 - 27)), date!(2026 - 12 - 04));
        // Saturday and Sunday count from Monday.
        assert_eq!(estimated_delivery(date!(2026 - 11 - 28)), date!(2026 - 12 - 04));
        assert_eq!(estimated_delivery(date!(2026 - 11 - 29)), date!(2026 - 12 - 04));
    }
}
