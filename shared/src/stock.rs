//! Stock: the rules about how many units of a product exist and who holds them.
//!
//! A product's stock is split over one or more *shards* (separate DynamoDB
//! items) so that a hot product is not limited by one item's write rate. For
//! every shard, and so for the product, the invariant is
//!
//! ```text
//! on_hand = available + reserved + sold
//! ```
//!
//! `available` is stored as its own attribute because DynamoDB conditions
//! cannot do arithmetic: a reservation is `available >= :qty`, nothing more.

use serde::Serialize;

/// The most units of one product the shop tracks.
pub const MAX_ON_HAND: i64 = 10_000_000;
/// The most shards one product's stock may be split over.
pub const MAX_SHARDS: u8 = 16;

/// One stock item of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockShard {
    pub shard: u8,
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
    pub sold: i64,
    /// Incremented on every change to the shard's on-hand count.
    pub version: u64,
}

impl StockShard {
    pub fn empty(shard: u8) -> Self {
        Self {
            shard,
            on_hand: 0,
            available: 0,
            reserved: 0,
            sold: 0,
            version: 0,
        }
    }

    /// Units promised to shoppers: in carts or sold.
    pub fn committed(&self) -> i64 {
        self.reserved + self.sold
    }

    pub fn is_consistent(&self) -> bool {
        self.on_hand == self.available + self.reserved + self.sold
            && self.available >= 0
            && self.reserved >= 0
            && self.sold >= 0
    }
}

/// A product's stock summed over its shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StockLevel {
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
    pub sold: i64,
}

impl StockLevel {
    pub fn of(shards: &[StockShard]) -> Self {
        shards.iter().fold(Self::default(), |acc, s| Self {
            on_hand: acc.on_hand + s.on_hand,
            available: acc.available + s.available,
            reserved: acc.reserved + s.reserved,
            sold: acc.sold + s.sold,
        })
    }

    pub fn in_stock(&self) -> bool {
        self.available > 0
    }
}

/// The most units of one product a shopper can put in one cart line.
pub const MAX_QUANTITY_PER_LINE: i64 = 10;

/// How many units a shopper asks for: a whole number in
/// `1..=MAX_QUANTITY_PER_LINE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    pub fn parse(units: i64) -> Result<Self, String> {
        if (1..=MAX_QUANTITY_PER_LINE).contains(&units) {
            Ok(Self(units))
        } else {
            Err(format!("must be a whole number from 1 to {MAX_QUANTITY_PER_LINE}"))
        }
    }

    pub fn units(self) -> i64 {
        self.0
    }
}

/// A requested number of units on hand, within `0..=MAX_ON_HAND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnHand(i64);

impl OnHand {
    pub fn parse(units: i64) -> Result<Self, String> {
        if (0..=MAX_ON_HAND).contains(&units) {
            Ok(Self(units))
        } else {
            Err(format!("must be between 0 and {MAX_ON_HAND}"))
        }
    }

    pub fn units(self) -> i64 {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("cannot set stock on hand to {requested}: {committed} units are already reserved or sold")]
    BelowCommitted { requested: i64, committed: i64 },
}

/// Works out every shard's new counts when an administrator sets the stock on
/// hand. What is reserved or sold stays where it is; the units left over are
/// spread evenly as `available` over the shards, so that each shard can serve
/// its share of reservations. Refused if fewer units than are committed.
pub fn set_on_hand(shards: &[StockShard], on_hand: OnHand) -> Result<Vec<StockShard>, StockError> {
    let committed: i64 = shards.iter().map(StockShard::committed).sum();
    let free = on_hand.units() - committed;
    if free < 0 {
        return Err(StockError::BelowCommitted {
            requested: on_hand.units(),
            committed,
        });
    }
    let count = shards.len() as i64;
    Ok(shards
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let available = free / count + i64::from((i as i64) < free % count);
            StockShard {
                on_hand: s.committed() + available,
                available,
                version: s.version + 1,
                ..*s
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(shard: u8, available: i64, reserved: i64, sold: i64) -> StockShard {
        StockShard {
            shard,
            on_hand: available + reserved + sold,
            available,
            reserved,
            sold,
            version: 3,
        }
    }

    #[test]
    fn setting_stock_spreads_the_free_units_evenly_and_keeps_commitments() {
        let shards = [shard(0, 0, 2, 1), shard(1, 5, 0, 0), shard(2, 1, 1, 1)];
        let new = set_on_hand(&shards, OnHand::parse(15).unwrap()).unwrap();
        let available: Vec<i64> = new.iter().map(|s| s.available).collect();
        assert_eq!(available, [4, 3, 3]);
        assert!(new.iter().all(StockShard::is_consistent));
        assert_eq!(StockLevel::of(&new).on_hand, 15);
        assert_eq!(StockLevel::of(&new).reserved, 3);
        assert_eq!(StockLevel::of(&new).sold, 2);
        assert!(new.iter().all(|s| s.version == 4));
    }

    #[test]
    fn stock_can_be_set_to_exactly_what_is_committed() {
        let shards = [shard(0, 9, 2, 1)];
        let new = set_on_hand(&shards, OnHand::parse(3).unwrap()).unwrap();
        assert_eq!(new[0].available, 0);
    }

    #[test]
    fn stock_can_never_be_set_below_what_is_reserved_or_sold() {
        let shards = [shard(0, 0, 2, 1), shard(1, 0, 1, 0)];
        assert_eq!(
            set_on_hand(&shards, OnHand::parse(3).unwrap()),
            Err(StockError::BelowCommitted {
                requested: 3,
                committed: 4
            })
        );
    }

    #[test]
    fn quantities_are_at_least_one_and_at_most_the_line_limit() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(-2).is_err());
        assert!(Quantity::parse(MAX_QUANTITY_PER_LINE + 1).is_err());
        assert_eq!(Quantity::parse(3).unwrap().units(), 3);
    }

    #[test]
    fn on_hand_is_bounded() {
        assert!(OnHand::parse(-1).is_err());
        assert!(OnHand::parse(MAX_ON_HAND + 1).is_err());
        assert!(OnHand::parse(0).is_ok());
    }
}
