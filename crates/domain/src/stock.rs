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
    /// Incremented by every write of the shard (reservations, releases,
    /// sales, returns and stock updates alike), so the ledger audit can
    /// tell that nothing moved while it read the lines and orders behind
    /// the shard's counts.
    pub moves: u64,
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
            moves: 0,
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

/// A reservation asked for more than all shards hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("only {available} available, {requested} requested")]
pub struct InsufficientStock {
    pub requested: i64,
    pub available: i64,
}

/// Units taken from (or returned to) each shard, by shard number.
pub type Allocation = std::collections::BTreeMap<u8, i64>;

/// The most shards one cart line draws on, so that checkout's single
/// transaction always fits in DynamoDB's 100 actions: 20 lines × (3 shard
/// updates + 1 cart line delete) + the order's own items.
pub const MAX_SHARDS_PER_LINE: usize = 3;

/// Decides which shards a reservation of `units` takes from, for a line that
/// already holds `held`. A single shard that holds them all is preferred —
/// one the line already draws on first, then one searched from `start` (a
/// value that differs between shoppers, so that concurrent shoppers spread
/// over the shards instead of all racing for the first); otherwise the
/// fullest shards are combined, never more than [`MAX_SHARDS_PER_LINE`] for
/// the line. Refused with what the line could get if that is too few.
pub fn plan_reservation(
    shards: &[StockShard],
    units: i64,
    start: usize,
    held: &Allocation,
) -> Result<Allocation, InsufficientStock> {
    let count = shards.len();
    let new_allowed = MAX_SHARDS_PER_LINE.saturating_sub(held.len());
    let is_held = |s: &StockShard| held.contains_key(&s.shard);
    let single = shards
        .iter()
        .filter(|s| is_held(s))
        .chain(
            (0..count)
                .map(|i| &shards[(start + i) % count])
                .filter(|s| !is_held(s) && new_allowed > 0),
        )
        .find(|s| s.available >= units);
    if let Some(shard) = single.filter(|_| units > 0) {
        return Ok(Allocation::from([(shard.shard, units)]));
    }
    // The shards the line may draw on: those it holds, then the fullest others.
    let mut mine: Vec<&StockShard> = shards.iter().filter(|s| is_held(s) && s.available > 0).collect();
    let mut others: Vec<&StockShard> = shards.iter().filter(|s| !is_held(s) && s.available > 0).collect();
    mine.sort_by_key(|s| std::cmp::Reverse(s.available));
    others.sort_by_key(|s| std::cmp::Reverse(s.available));
    others.truncate(new_allowed);
    let usable: Vec<&StockShard> = mine.into_iter().chain(others).collect();
    let available: i64 = usable.iter().map(|s| s.available).sum();
    if units <= 0 || available < units {
        return Err(InsufficientStock {
            requested: units,
            available,
        });
    }
    let mut allocation = Allocation::new();
    let mut missing = units;
    for shard in usable {
        let take = missing.min(shard.available);
        allocation.insert(shard.shard, take);
        missing -= take;
        if missing == 0 {
            break;
        }
    }
    Ok(allocation)
}

/// Decides which shards get `units` back when a reservation holding `taken`
/// shrinks: units go back to the shards they came from, the highest shard
/// numbers first, so a line that spans shards keeps its first shard longest.
pub fn plan_release(taken: &Allocation, units: i64) -> Allocation {
    let mut allocation = Allocation::new();
    let mut left = units;
    for (shard, held) in taken.iter().rev() {
        if left <= 0 {
            break;
        }
        let give = left.min(*held);
        allocation.insert(*shard, give);
        left -= give;
    }
    allocation
}

/// Decides which shards take back the units of a cancelled sale that took
/// `taken`: each unit goes back to its shard while that shard holds that many
/// sold; the rest (after a redistribution removed or emptied a shard) to the
/// shards holding the most sold.
pub fn plan_return(taken: &Allocation, shards: &[StockShard]) -> Allocation {
    let mut sold: std::collections::BTreeMap<u8, i64> = shards.iter().map(|s| (s.shard, s.sold)).collect();
    let mut plan = Allocation::new();
    let mut give = |shard: u8, units: i64, sold: &mut std::collections::BTreeMap<u8, i64>| {
        *plan.entry(shard).or_default() += units;
        *sold.entry(shard).or_default() -= units;
    };
    let mut rest = 0;
    for (shard, units) in taken {
        let here = (*units).min(sold.get(shard).copied().unwrap_or(0)).max(0);
        if here > 0 {
            give(*shard, here, &mut sold);
        }
        rest += units - here;
    }
    while rest > 0 {
        let Some((&shard, &most)) = sold.iter().filter(|(_, s)| **s > 0).max_by_key(|(_, s)| **s) else {
            break;
        };
        let units = rest.min(most);
        give(shard, units, &mut sold);
        rest -= units;
    }
    plan
}

/// `taken` after adding `more` (a reservation grew) or removing `less` (it shrank).
pub fn merge_allocation(taken: &Allocation, more: &Allocation, less: &Allocation) -> Allocation {
    let mut merged = taken.clone();
    for (shard, units) in more {
        *merged.entry(*shard).or_default() += units;
    }
    for (shard, units) in less {
        *merged.entry(*shard).or_default() -= units;
    }
    merged.retain(|_, units| *units > 0);
    merged
}

/// How many stock items a product's stock is split over: `1..=MAX_SHARDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ShardCount(u8);

impl ShardCount {
    pub const ONE: Self = Self(1);

    pub fn parse(count: i64) -> Result<Self, String> {
        match u8::try_from(count) {
            Ok(n) if (1..=MAX_SHARDS).contains(&n) => Ok(Self(n)),
            _ => Err(format!("must be a whole number from 1 to {MAX_SHARDS}")),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// What an administrator's stock update does to each shard item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redistribution {
    /// The new counts of shards `0..count`, in shard order; a shard that did
    /// not exist has `version == 1`.
    pub active: Vec<StockShard>,
    /// Shards at or beyond the count that still hold reservations (cart lines
    /// name the shard their units came from): kept with nothing available,
    /// so they only shrink; a later update removes them once released.
    pub draining: Vec<StockShard>,
    /// Shards beyond the count with nothing reserved: deleted. Their sold
    /// units move to shard 0, so the product's totals stay the same.
    pub removed: Vec<StockShard>,
}

impl Redistribution {
    /// The product's stock after the update.
    pub fn level(&self) -> StockLevel {
        StockLevel::of(&[self.active.as_slice(), self.draining.as_slice()].concat())
    }
}

/// Works out every shard's new counts when an administrator sets the stock on
/// hand and the number of shards. What is reserved stays on its shard; the
/// units not reserved or sold are spread evenly as `available` over shards
/// `0..count`, so each can serve its share of reservations. Refused if fewer
/// units than are reserved or sold.
pub fn redistribute(shards: &[StockShard], on_hand: OnHand, count: ShardCount) -> Result<Redistribution, StockError> {
    let committed: i64 = shards.iter().map(StockShard::committed).sum();
    let free = on_hand.units() - committed;
    if free < 0 {
        return Err(StockError::BelowCommitted {
            requested: on_hand.units(),
            committed,
        });
    }
    let (beyond, within): (Vec<&StockShard>, Vec<&StockShard>) = shards.iter().partition(|s| s.shard >= count.get());
    let (draining, removed): (Vec<StockShard>, Vec<StockShard>) = beyond.into_iter().partition(|s| s.reserved > 0);
    let moved_sold: i64 = removed.iter().map(|s| s.sold).sum();

    let n = i64::from(count.get());
    let active = (0..count.get())
        .map(|number| {
            let old = within
                .iter()
                .find(|s| s.shard == number)
                .map_or(StockShard::empty(number), |s| **s);
            let i = i64::from(number);
            let available = free / n + i64::from(i < free % n);
            let sold = old.sold + if number == 0 { moved_sold } else { 0 };
            StockShard {
                on_hand: old.reserved + sold + available,
                available,
                sold,
                version: old.version + 1,
                ..old
            }
        })
        .collect();
    let draining = draining
        .into_iter()
        .map(|s| StockShard {
            on_hand: s.committed(),
            available: 0,
            version: s.version + 1,
            ..s
        })
        .collect();
    Ok(Redistribution {
        active,
        draining,
        removed,
    })
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
            moves: 0,
        }
    }

    fn none() -> Allocation {
        Allocation::new()
    }

    fn set(shards: &[StockShard], on_hand: i64, count: i64) -> Result<Redistribution, StockError> {
        redistribute(
            shards,
            OnHand::parse(on_hand).unwrap(),
            ShardCount::parse(count).unwrap(),
        )
    }

    #[test]
    fn setting_stock_spreads_the_free_units_evenly_and_keeps_commitments() {
        let shards = [shard(0, 0, 2, 1), shard(1, 5, 0, 0), shard(2, 1, 1, 1)];
        let new = set(&shards, 15, 3).unwrap();
        let available: Vec<i64> = new.active.iter().map(|s| s.available).collect();
        assert_eq!(available, [4, 3, 3]);
        assert!(new.active.iter().all(StockShard::is_consistent));
        assert_eq!(new.level().on_hand, 15);
        assert_eq!(new.level().reserved, 3);
        assert_eq!(new.level().sold, 2);
        assert!(new.active.iter().all(|s| s.version == 4));
        assert!(new.draining.is_empty() && new.removed.is_empty());
    }

    #[test]
    fn stock_can_be_set_to_exactly_what_is_committed() {
        let new = set(&[shard(0, 9, 2, 1)], 3, 1).unwrap();
        assert_eq!(new.active[0].available, 0);
    }

    #[test]
    fn stock_can_never_be_set_below_what_is_reserved_or_sold() {
        let shards = [shard(0, 0, 2, 1), shard(1, 0, 1, 0)];
        let refused = Err(StockError::BelowCommitted {
            requested: 3,
            committed: 4,
        });
        assert_eq!(set(&shards, 3, 2), refused);
        // Removing shards does not make their commitments disappear.
        assert_eq!(set(&shards, 3, 1), refused);
    }

    #[test]
    fn more_shards_are_created_empty_and_given_their_share() {
        let new = set(&[shard(0, 10, 3, 2)], 25, 4).unwrap();
        let counts: Vec<(u8, i64, u64)> = new.active.iter().map(|s| (s.shard, s.available, s.version)).collect();
        assert_eq!(counts, [(0, 5, 4), (1, 5, 1), (2, 5, 1), (3, 5, 1)]);
        assert_eq!(new.active[0].on_hand, 10);
        assert!(new.active.iter().all(StockShard::is_consistent));
        assert_eq!(new.level().on_hand, 25);
    }

    #[test]
    fn fewer_shards_remove_the_idle_ones_and_drain_the_reserved_ones() {
        let shards = [
            shard(0, 4, 0, 1),
            shard(1, 4, 2, 0),
            shard(2, 4, 0, 3),
            shard(3, 4, 1, 1),
        ];
        let new = set(&shards, 20, 2).unwrap();
        // Shard 2 held no reservations: removed, its 3 sold move to shard 0.
        assert_eq!(new.removed.iter().map(|s| s.shard).collect::<Vec<_>>(), [2]);
        assert_eq!(new.active[0].sold, 4);
        // Shard 3 still backs a cart line: kept, with nothing available.
        assert_eq!(new.draining.len(), 1);
        assert_eq!((new.draining[0].shard, new.draining[0].available), (3, 0));
        assert!(new.draining[0].is_consistent());
        let level = new.level();
        assert_eq!((level.on_hand, level.reserved, level.sold), (20, 3, 5));
        assert_eq!(level.available, 12);
        assert!(new.active.iter().all(StockShard::is_consistent));
    }

    #[test]
    fn shard_counts_are_bounded() {
        assert!(ShardCount::parse(0).is_err());
        assert!(ShardCount::parse(i64::from(MAX_SHARDS) + 1).is_err());
        assert!(ShardCount::parse(-1).is_err());
        assert_eq!(ShardCount::parse(4).unwrap().get(), 4);
    }

    #[test]
    fn a_reservation_prefers_one_shard_searched_from_the_shoppers_start() {
        let shards = [shard(0, 5, 0, 0), shard(1, 5, 0, 0), shard(2, 1, 0, 0)];
        assert_eq!(
            plan_reservation(&shards, 3, 0, &none()).unwrap(),
            Allocation::from([(0, 3)])
        );
        assert_eq!(
            plan_reservation(&shards, 3, 1, &none()).unwrap(),
            Allocation::from([(1, 3)])
        );
        // Shard 2 has too few, so the search moves on to shard 0.
        assert_eq!(
            plan_reservation(&shards, 3, 2, &none()).unwrap(),
            Allocation::from([(0, 3)])
        );
    }

    #[test]
    fn a_reservation_larger_than_any_shard_spans_the_fullest_shards() {
        let shards = [shard(0, 2, 0, 0), shard(1, 4, 0, 0), shard(2, 3, 0, 0)];
        assert_eq!(
            plan_reservation(&shards, 6, 0, &none()).unwrap(),
            Allocation::from([(1, 4), (2, 2)])
        );
        assert_eq!(
            plan_reservation(&shards, 9, 0, &none()).unwrap(),
            Allocation::from([(0, 2), (1, 4), (2, 3)])
        );
    }

    #[test]
    fn a_reservation_beyond_what_all_shards_hold_is_refused_with_the_total() {
        let shards = [shard(0, 2, 5, 0), shard(1, 1, 0, 9)];
        assert_eq!(
            plan_reservation(&shards, 4, 0, &none()),
            Err(InsufficientStock {
                requested: 4,
                available: 3
            })
        );
        assert!(plan_reservation(&[], 1, 0, &none()).is_err());
    }

    #[test]
    fn a_line_tops_up_from_a_shard_it_already_holds() {
        let shards = [shard(0, 5, 0, 0), shard(1, 5, 0, 0), shard(2, 5, 1, 0)];
        let held = Allocation::from([(2, 1)]);
        assert_eq!(
            plan_reservation(&shards, 2, 0, &held).unwrap(),
            Allocation::from([(2, 2)])
        );
    }

    #[test]
    fn a_line_never_draws_on_more_than_three_shards() {
        let shards: Vec<StockShard> = (0..6).map(|i| shard(i, 1, 0, 0)).collect();
        let spread = plan_reservation(&shards, 3, 0, &none()).unwrap();
        assert_eq!(spread.len(), 3);
        assert_eq!(
            plan_reservation(&shards, 4, 0, &none()),
            Err(InsufficientStock {
                requested: 4,
                available: 3
            }),
            "six units exist, but one line can reach only three shards"
        );
        // A line on two shards may add one more shard, not two.
        let held = Allocation::from([(0, 1), (1, 1)]);
        let rest: Vec<StockShard> = (2..6).map(|i| shard(i, 1, 0, 0)).collect();
        assert_eq!(plan_reservation(&rest, 1, 0, &held).unwrap().len(), 1);
        assert!(plan_reservation(&rest, 2, 0, &held).is_err());
    }

    #[test]
    fn releases_go_back_to_the_shards_they_came_from() {
        let taken = Allocation::from([(0, 2), (3, 4)]);
        assert_eq!(plan_release(&taken, 3), Allocation::from([(3, 3)]));
        assert_eq!(plan_release(&taken, 5), Allocation::from([(0, 1), (3, 4)]));
        assert_eq!(plan_release(&taken, 6), taken);
        let after = merge_allocation(&taken, &Allocation::from([(1, 2)]), &plan_release(&taken, 5));
        assert_eq!(after, Allocation::from([(0, 1), (1, 2)]));
    }

    #[test]
    fn returned_units_go_back_where_they_were_sold_or_to_the_shards_holding_the_sales() {
        let shards = [shard(0, 0, 0, 7), shard(1, 0, 0, 2)];
        assert_eq!(
            plan_return(&Allocation::from([(0, 2), (1, 1)]), &shards),
            Allocation::from([(0, 2), (1, 1)])
        );
        // Shard 3 was removed and its sales moved to shard 0.
        assert_eq!(
            plan_return(&Allocation::from([(1, 1), (3, 4)]), &shards),
            Allocation::from([(0, 4), (1, 1)])
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
