//! Product search: what a query means, in one place, and the backends that
//! answer it behind one trait.
//!
//! - [`tantivy`]: an index on local disk (the local runner's default).
//! - [`opensearch`]: Amazon OpenSearch for AWS; [`backend::AnyBackend`] picks one at start-up.
//! - `oracle` (feature `testing`): the reference every backend is tested
//!   against; it does not ship in the functions.
//!
//! Semantics, shared by every backend:
//!
//! - **Text**: the query's words, tokenized like titles (lowercase, split on
//!   anything not a letter or digit), must *all* match a title word within an
//!   edit distance that grows with the word's length ([`fuzzy_distance`],
//!   like Elasticsearch's `AUTO`). For suggestions (`prefix`), the last word
//!   may also be the start of a title word ([`word_matches`]).
//! - **Filters**: category (a department includes every category below it),
//!   brands (any of), price range (inclusive, minor units), in stock only,
//!   a minimum rating in whole stars (4 means 4.0 and up).
//! - **Score**: text relevance (BM25) × 2 when in stock × √rating (ratings
//!   under 1.0 count as 1.0, so an unrated product is not zeroed). Without
//!   text, the boosts alone order the hits.
//! - **Facets** over every match (not just the page): the top 20 categories
//!   (leaf ids) and brands with counts, the four [`PRICE_RANGES`], and the
//!   average rating.
//! - **Paging**: `page` from 1, `limit` up to [`MAX_LIMIT`]; `hasMore` says
//!   whether a later page has hits. Ties break on the product id, so pages are
//!   stable.

pub mod backend;
pub mod breaker;
pub mod fallback;
pub mod opensearch;
#[cfg(any(test, feature = "testing"))]
pub mod oracle;
pub mod query;
pub mod reindex;
pub mod tantivy;
pub mod updater;

use serde::Serialize;
use shop_domain::catalog::{Product, Rating};
use shop_domain::ids::{CategoryId, ProductId};
use shop_domain::money::Money;
use shop_domain::stock::StockLevel;
use shop_domain::time::Timestamp;
use std::future::Future;

/// The most hits one page may ask for.
pub const MAX_LIMIT: u32 = 100;
pub const DEFAULT_LIMIT: u32 = 20;
/// The deepest page one may ask for (deep paging is for crawlers, not shoppers).
pub const MAX_PAGE: u32 = 500;
/// Buckets in the category and brand facets.
pub const FACET_SIZE: usize = 20;
/// The longest query text.
pub const MAX_TEXT: usize = 200;

/// The price facet's buckets: label and `[from, to)` in minor units.
pub const PRICE_RANGES: [(&str, i64, i64); 4] = [
    ("Under $25", 0, 2_500),
    ("$25-$50", 2_500, 5_000),
    ("$50-$100", 5_000, 10_000),
    ("Over $100", 10_000, i64::MAX),
];

/// Title words of this many bytes or more are not indexed (tantivy's
/// default tokenizer drops them, and so does the OpenSearch mapping), so no
/// query word can match them.
pub const INDEXED_WORD_BYTES: usize = 40;

/// The edit distance a query word may be from a title word: 0 up to 2
/// characters, 1 up to 5, 2 beyond (Elasticsearch's `AUTO`).
pub fn fuzzy_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

/// The distance [`fuzzy_distance`] bounds: Levenshtein with a transposition
/// of neighbours counting as one edit (optimal string alignment), in
/// characters. Backends match with automata of this distance; tests use it
/// as the definition.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The shortest last word that may match as a prefix: one letter would
/// expand to a good part of the dictionary and suggest nothing useful.
pub const MIN_PREFIX: usize = 2;

/// Whether a query word matches a title word: within its
/// [`fuzzy_distance`], or, `as_prefix` ([`SearchRequest::as_prefix`]), as
/// the start of the title word ("headph" finds "headphones"; "hedphones"
/// finds it by the distance).
pub fn word_matches(query: &str, title: &str, as_prefix: bool) -> bool {
    edit_distance(query, title) <= usize::from(fuzzy_distance(query)) || (as_prefix && title.starts_with(query))
}

/// The words of a text as the index sees them: lowercase runs of letters
/// and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The factor the boosts multiply a hit's score by.
pub fn boost(in_stock: bool, rating: Rating) -> f32 {
    let stock = if in_stock { 2.0 } else { 1.0 };
    let stars = (f32::from(rating.tenths()) / 10.0).max(1.0);
    stock * stars.sqrt()
}

/// What the index holds for one product.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDoc {
    pub product_id: ProductId,
    pub title: String,
    pub brand: String,
    /// The product's (leaf) category.
    pub category_id: CategoryId,
    /// Every category from the top of the tree down to the leaf.
    pub category_path: Vec<CategoryId>,
    pub price: Money,
    pub rating: Rating,
    pub review_count: u32,
    pub available: i64,
    pub created_at: Timestamp,
}

impl SearchDoc {
    pub fn new(product: &Product, stock: &StockLevel, category_path: Vec<CategoryId>) -> Self {
        Self {
            product_id: product.id.clone(),
            title: product.title.clone(),
            brand: product.brand.clone(),
            category_id: product.category_id.clone(),
            category_path,
            price: product.price,
            rating: product.rating,
            review_count: product.review_count,
            available: stock.available,
            created_at: product.created_at,
        }
    }

    pub fn in_stock(&self) -> bool {
        self.available > 0
    }
}

/// The orders search results can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchSort {
    /// Best score first (the default).
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    /// Best rated first, then most reviewed.
    Rating,
    Newest,
}

impl SearchSort {
    pub const ALL: [(&'static str, SearchSort); 5] = [
        ("relevance", SearchSort::Relevance),
        ("price_asc", SearchSort::PriceAsc),
        ("price_desc", SearchSort::PriceDesc),
        ("rating", SearchSort::Rating),
        ("newest", SearchSort::Newest),
    ];

    pub fn parse(value: &str) -> Result<Self, String> {
        shop_domain::choice::parse(&Self::ALL, value)
    }

    pub fn as_str(self) -> &'static str {
        shop_domain::choice::name(&Self::ALL, &self)
    }
}

/// A checked search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The words to find; `None` lists everything the filters let through.
    pub text: Option<String>,
    /// Whether the last word may also be the start of a title word (a
    /// shopper still typing it): suggestions. See [`word_matches`].
    pub prefix: bool,
    /// Only products in this category or below it.
    pub category: Option<CategoryId>,
    /// Only products of one of these brands (exact names); empty = any.
    pub brands: Vec<String>,
    /// Inclusive bounds on the price, minor units.
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    /// Only products with units available.
    pub in_stock_only: bool,
    /// Only products rated this many whole stars or more ("4 stars & up").
    pub rating_min: Option<u8>,
    pub sort: SearchSort,
    /// From 1.
    pub page: u32,
    pub limit: u32,
}

impl Default for SearchRequest {
    fn default() -> Self {
        Self {
            text: None,
            prefix: false,
            category: None,
            brands: Vec::new(),
            price_min: None,
            price_max: None,
            in_stock_only: false,
            rating_min: None,
            sort: SearchSort::Relevance,
            page: 1,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl SearchRequest {
    /// Whether the `i`-th of the query's `words` may match as the start of
    /// a title word: the last word of a suggestion request, of at least
    /// [`MIN_PREFIX`] characters. Every backend asks this, and nothing else.
    pub fn as_prefix(&self, words: &[String], i: usize) -> bool {
        self.prefix && i + 1 == words.len() && words[i].chars().count() >= MIN_PREFIX
    }

    /// How many hits come before this page.
    pub fn offset(&self) -> usize {
        (self.page.saturating_sub(1) as usize) * self.limit as usize
    }

    /// Whether `doc` passes the filters (not the text).
    pub fn admits(&self, doc: &SearchDoc) -> bool {
        self.category.as_ref().is_none_or(|c| doc.category_path.contains(c))
            && (self.brands.is_empty() || self.brands.contains(&doc.brand))
            && self.price_min.is_none_or(|min| doc.price.amount >= min)
            && self.price_max.is_none_or(|max| doc.price.amount <= max)
            && (!self.in_stock_only || doc.in_stock())
            && self.rating_min.is_none_or(|stars| doc.rating.tenths() >= stars * 10)
    }
}

/// One facet bucket: `{ key, count }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Facets {
    /// Leaf categories, most matches first (ties by key), at most [`FACET_SIZE`].
    pub categories: Vec<Bucket>,
    pub brands: Vec<Bucket>,
    /// Always the four [`PRICE_RANGES`], in order, zero counts included.
    pub price_ranges: Vec<Bucket>,
    /// Over every match; `None` when nothing matched.
    pub avg_rating: Option<f64>,
}

/// Counts facets the same way for every backend: top buckets, most first,
/// then by key.
pub fn top_buckets(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = counts
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(key, count)| Bucket { key, count })
        .collect();
    buckets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    buckets.truncate(FACET_SIZE);
    buckets
}

/// The price facet's buckets from counts per range, in [`PRICE_RANGES`] order.
pub fn price_buckets(counts: [u64; 4]) -> Vec<Bucket> {
    PRICE_RANGES
        .iter()
        .zip(counts)
        .map(|((label, _, _), count)| Bucket {
            key: (*label).to_owned(),
            count,
        })
        .collect()
}

/// Which price range an amount falls in.
pub fn price_range(amount: i64) -> usize {
    PRICE_RANGES
        .iter()
        .position(|(_, from, to)| (*from..*to).contains(&amount))
        .unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// This page's hits, best first.
    pub hits: Vec<SearchDoc>,
    /// Every match.
    pub total: u64,
    pub facets: Facets,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The backend did not answer (or answered with a server error).
    #[error("the search backend is unavailable: {0}")]
    Unavailable(String),
    /// The backend refused or broke: a bug or a broken index.
    #[error("search failed: {0}")]
    Failed(String),
}

/// A search index.
pub trait SearchBackend {
    fn search(&self, request: &SearchRequest) -> impl Future<Output = Result<SearchResults, SearchError>> + Send;

    /// Adds or replaces these products.
    fn upsert(&self, docs: Vec<SearchDoc>) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// Removes these products (absent ones are fine).
    fn remove(&self, ids: Vec<ProductId>) -> impl Future<Output = Result<(), SearchError>> + Send;

    /// How many products the index holds.
    fn count(&self) -> impl Future<Output = Result<u64, SearchError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edit_distance_grows_with_the_word() {
        assert_eq!(fuzzy_distance("tv"), 0);
        assert_eq!(fuzzy_distance("lamp"), 1);
        assert_eq!(fuzzy_distance("headphones"), 2);
    }

    #[test]
    fn words_are_lowercase_letter_and_digit_runs() {
        assert_eq!(
            words("Noise-Cancelling  HEADPHONES, 2nd gen"),
            ["noise", "cancelling", "headphones", "2nd", "gen"]
        );
    }

    #[test]
    fn boosts_double_for_stock_and_grow_with_the_rating() {
        let rating = |t| Rating::from_tenths(t).unwrap();
        assert_eq!(boost(false, rating(0)), 1.0);
        assert_eq!(boost(true, rating(0)), 2.0);
        assert_eq!(boost(false, rating(40)), 2.0);
        assert!(boost(true, rating(45)) > boost(true, rating(44)));
    }

    #[test]
    fn prices_fall_in_half_open_ranges() {
        assert_eq!(price_range(2_499), 0);
        assert_eq!(price_range(2_500), 1);
        assert_eq!(price_range(9_999), 2);
        assert_eq!(price_range(10_000), 3);
    }

    #[test]
    fn top_buckets_are_sorted_by_count_then_key_and_capped() {
        let counts = (0..30).map(|i| (format!("b{i:02}"), (i % 3) as u64));
        let top = top_buckets(counts);
        assert_eq!(top.len(), FACET_SIZE);
        assert_eq!(
            top[0],
            Bucket {
                key: "b02".into(),
                count: 2
            }
        );
        assert!(top.iter().all(|b| b.count > 0));
    }
}

/// A product as search shows it: the list fields plus what can be bought now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    #[serde(flatten)]
    pub summary: shop_domain::catalog::ProductSummary,
    pub available: i64,
    pub in_stock: bool,
}

impl From<&SearchDoc> for SearchHit {
    fn from(doc: &SearchDoc) -> Self {
        Self {
            summary: shop_domain::catalog::ProductSummary {
                product_id: doc.product_id.clone(),
                title: doc.title.clone(),
                brand: doc.brand.clone(),
                category_id: doc.category_id.clone(),
                price: doc.price,
                rating: doc.rating,
                review_count: doc.review_count,
            },
            available: doc.available,
            in_stock: doc.in_stock(),
        }
    }
}

/// The search backend behind its circuit breaker and a deadline.
#[derive(Debug)]
pub struct Searcher<B> {
    pub backend: B,
    pub breaker: breaker::CircuitBreaker,
    pub deadline: std::time::Duration,
}

impl<B: SearchBackend> Searcher<B> {
    pub fn new(backend: B) -> Self {
        Self {
            backend,
            breaker: breaker::CircuitBreaker::default(),
            deadline: std::time::Duration::from_secs(2),
        }
    }

    /// Searches, unless the breaker is open; failures and timeouts count
    /// towards opening it.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        if !self.breaker.allow(std::time::Instant::now()) {
            return Err(SearchError::Unavailable("the circuit breaker is open".into()));
        }
        let outcome = match tokio::time::timeout(self.deadline, self.backend.search(request)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SearchError::Unavailable(format!(
                "no answer within {:?}",
                self.deadline
            ))),
        };
        match &outcome {
            Ok(_) => self.breaker.succeeded(),
            Err(_) => self.breaker.failed(std::time::Instant::now()),
        }
        outcome
    }
}
