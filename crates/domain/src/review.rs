//! Reviews: what a shopper may write about a product they bought, and how a
//! product's rating follows from them (`docs/reviews.md`).
//!
//! - Only a shopper with an order that contains the product and is not
//!   cancelled may review it ([`proves_purchase`]), once per product; writing
//!   again replaces their review.
//! - A product's rating is its [`Histogram`]: how many ratings of each star
//!   count it has. Reviews change it by [`Histogram::apply`], one event per
//!   change, so the changes can be counted in any order.

use crate::catalog::{Rating, text_field};
use crate::ids::ProductId;
use crate::order::{Order, OrderStatus};
use crate::time::Timestamp;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_TITLE_CHARS: usize = 150;
pub const MAX_BODY_CHARS: usize = 5000;
pub const DEFAULT_PAGE: u32 = 10;
pub const MAX_PAGE: u32 = 50;

/// A review id: `rev_` and a ULID, so that ids sort by when the review was
/// first written (the newest-first order).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReviewId(String);

const REVIEW_ID_PREFIX: &str = "rev_";

impl ReviewId {
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        match value.strip_prefix(REVIEW_ID_PREFIX).map(ulid::Ulid::from_string) {
            Some(Ok(_)) => Ok(Self(value)),
            _ => Err(format!("{value:?} is not a review id (rev_ and a 26-character ULID)")),
        }
    }

    /// A new id, ordered after every id made before `now`.
    pub fn new(now: Timestamp) -> Self {
        let millis = (now.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
        let ulid = ulid::Ulid::from_parts(millis, ulid::Ulid::new().random());
        Self(format!("{REVIEW_ID_PREFIX}{ulid}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReviewId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(value)
    }
}

impl From<ReviewId> for String {
    fn from(id: ReviewId) -> String {
        id.0
    }
}

impl fmt::Display for ReviewId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rating of one review: 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Stars(u8);

impl Stars {
    pub fn new(stars: i64) -> Result<Self, String> {
        match u8::try_from(stars) {
            Ok(s @ 1..=5) => Ok(Self(s)),
            _ => Err(format!("must be a whole number of stars from 1 to 5, got {stars}")),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Stars {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, String> {
        Self::new(i64::from(value))
    }
}

impl From<Stars> for u8 {
    fn from(stars: Stars) -> u8 {
        stars.0
    }
}

/// A review as a shopper sends it (`POST /products/{id}/reviews`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub rating: i64,
    pub title: String,
    pub body: String,
}

/// A checked review: stars in range, text neither empty nor too long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDraft {
    pub rating: Stars,
    pub title: String,
    pub body: String,
}

impl ReviewDraft {
    /// Checks every field and reports all problems at once.
    pub fn parse(input: ReviewInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let rating = Stars::new(input.rating)
            .map_err(|m| errors.push(FieldError::new("rating", m)))
            .ok();
        let title = text_field(&mut errors, "title", input.title, 1, MAX_TITLE_CHARS);
        let body = text_field(&mut errors, "body", input.body, 1, MAX_BODY_CHARS);
        match rating {
            Some(rating) if errors.is_empty() => Ok(Self { rating, title, body }),
            _ => Err(errors),
        }
    }
}

/// A stored review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub review_id: ReviewId,
    pub product_id: ProductId,
    pub rating: Stars,
    pub title: String,
    pub body: String,
    /// Shoppers who found it helpful.
    pub helpful: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented on every edit; edits are conditional on it.
    pub version: u32,
}

impl Review {
    pub fn view(&self) -> ReviewView<'_> {
        ReviewView {
            review_id: &self.review_id,
            product_id: &self.product_id,
            rating: self.rating,
            title: &self.title,
            body: &self.body,
            helpful: self.helpful,
            verified_purchase: true,
            created_at: crate::time::format(self.created_at),
            updated_at: crate::time::format(self.updated_at),
        }
    }
}

/// A review as the API shows it. The author stays anonymous.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView<'a> {
    pub review_id: &'a ReviewId,
    pub product_id: &'a ProductId,
    pub rating: Stars,
    pub title: &'a str,
    pub body: &'a str,
    pub helpful: u32,
    /// Always true: only buyers can write one.
    pub verified_purchase: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The order in which reviews are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReviewSort {
    /// First written most recently first (the default).
    #[default]
    Newest,
    /// Most helpful votes first, then newest.
    Helpful,
}

impl ReviewSort {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "newest" => Ok(Self::Newest),
            "helpful" => Ok(Self::Helpful),
            _ => Err(format!("must be newest or helpful, got {value:?}")),
        }
    }
}

/// Whether `order` entitles its shopper to review `product`: the order
/// contains it and is not cancelled. (A review stays when its order is
/// cancelled later; the next edit is refused.)
pub fn proves_purchase(order: &Order, product: &ProductId) -> bool {
    order.status != OrderStatus::Cancelled && order.lines.iter().any(|l| &l.product_id == product)
}

/// How many ratings of each star count a product has (index 0 = one star).
/// Counts are signed: changes are applied in whatever order their events
/// arrive, so an edit's "minus one" can land before the creation it
/// follows. Only the settled sum is meaningful; reads clamp at zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Histogram(pub [i64; 5]);

impl Histogram {
    /// A histogram with this average and count, for a product whose rating
    /// came from elsewhere (the seeded demo catalog, an import): its ratings
    /// split between the two star counts around the average, so the average
    /// and count are kept, and real reviews add to them.
    pub fn approximating(rating: Rating, count: u32) -> Self {
        let mut counts = [0i64; 5];
        if count == 0 {
            return Self(counts);
        }
        let tenths = i64::from(rating.tenths().clamp(10, 50));
        let (low, fraction) = ((tenths / 10) as usize, tenths % 10);
        let count = i64::from(count);
        let high = (count * fraction + 5) / 10;
        counts[low - 1] = count - high;
        if high > 0 {
            counts[low] = high;
        }
        Self(counts)
    }

    /// One review's change: `before` is its rating until now (none when it
    /// is new), `after` its rating from now on (none when it is deleted).
    pub fn apply(&mut self, before: Option<Stars>, after: Option<Stars>) {
        if let Some(stars) = before {
            self.0[usize::from(stars.get()) - 1] -= 1;
        }
        if let Some(stars) = after {
            self.0[usize::from(stars.get()) - 1] += 1;
        }
    }

    /// The counts as shown: never below zero.
    pub fn counts(&self) -> [u32; 5] {
        self.0.map(|c| u32::try_from(c.max(0)).unwrap_or(u32::MAX))
    }

    pub fn count(&self) -> u32 {
        self.counts().iter().sum()
    }

    /// The average, rounded to tenths (0.0 with no ratings).
    pub fn average(&self) -> Rating {
        let counts = self.counts();
        let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        if total == 0 {
            return Rating::default();
        }
        let stars: u64 = counts.iter().zip(1u64..).map(|(&c, s)| u64::from(c) * s).sum();
        let tenths = (stars * 20 + total) / (2 * total);
        Rating::from_tenths(tenths as u8).expect("an average of 1 to 5 stars")
    }
}

/// The rating summary a product page shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RatingSummary {
    pub rating: Rating,
    pub review_count: u32,
    /// Ratings per star count: `{ "1": 3, ..., "5": 40 }`.
    pub histogram: std::collections::BTreeMap<String, u32>,
}

impl From<&Histogram> for RatingSummary {
    fn from(h: &Histogram) -> Self {
        Self {
            rating: h.average(),
            review_count: h.count(),
            histogram: h.counts().iter().zip(1..).map(|(&c, s)| (s.to_string(), c)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stars(n: i64) -> Stars {
        Stars::new(n).unwrap()
    }

    #[test]
    fn a_draft_reports_every_bad_field() {
        let bad = ReviewDraft::parse(ReviewInput {
            rating: 6,
            title: "  ".into(),
            body: "x".repeat(MAX_BODY_CHARS + 1),
        })
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rating", "title", "body"]);
        for rating in [0, -1, 6, i64::MAX] {
            assert!(Stars::new(rating).is_err(), "{rating}");
        }
        let good = ReviewDraft::parse(ReviewInput {
            rating: 5,
            title: " Great ".into(),
            body: "Line one\nline two".into(),
        })
        .unwrap();
        assert_eq!(good.title, "Great");
    }

    #[test]
    fn review_ids_sort_by_time_and_parse_back() {
        let earlier = ReviewId::new(time::macros::datetime!(2026-01-01 0:00 UTC));
        let later = ReviewId::new(time::macros::datetime!(2026-01-01 0:00:01 UTC));
        assert!(earlier < later);
        assert_eq!(ReviewId::parse(later.as_str()).unwrap(), later);
        assert!(ReviewId::parse("rev_nope").is_err());
        assert!(ReviewId::parse("01J0000000000000000000000A").is_err());
    }

    #[test]
    fn an_approximated_histogram_keeps_the_average_and_count() {
        for tenths in 10..=50u8 {
            for count in [10u32, 11, 97, 1234] {
                let rating = Rating::from_tenths(tenths).unwrap();
                let h = Histogram::approximating(rating, count);
                assert_eq!(h.count(), count);
                assert_eq!(h.average(), rating, "{tenths} over {count}");
            }
        }
        assert_eq!(Histogram::approximating(Rating::default(), 0), Histogram::default());
    }

    #[test]
    fn changes_count_in_any_order() {
        let changes = [
            (None, Some(stars(2))),
            (Some(stars(2)), Some(stars(5))),
            (None, Some(stars(4))),
            (Some(stars(4)), None),
        ];
        let mut forward = Histogram::default();
        for (before, after) in changes {
            forward.apply(before, after);
        }
        let mut backward = Histogram::default();
        for (before, after) in changes.iter().rev() {
            backward.apply(*before, *after);
        }
        assert_eq!(forward, backward);
        assert_eq!(forward.counts(), [0, 0, 0, 0, 1]);
        assert_eq!(forward.average().tenths(), 50);
        // Midway through the backward order a count is below zero; it reads as 0.
        let mut early = Histogram::default();
        early.apply(Some(stars(2)), Some(stars(5)));
        assert_eq!(early.counts(), [0, 0, 0, 0, 1]);
    }

    #[test]
    fn the_average_rounds_to_tenths() {
        let h = Histogram([1, 0, 0, 0, 2]); // 11 / 3 = 3.67
        assert_eq!(h.average().tenths(), 37);
        let summary = RatingSummary::from(&h);
        assert_eq!(summary.review_count, 3);
        assert_eq!(summary.histogram["5"], 2);
    }
}
