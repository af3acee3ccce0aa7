//! The reference search: the semantics of [`super`], answered by brute force
//! over a slice of documents. Every backend is tested against it, on the
//! same [`catalog`], so "the same semantics" is one definition rather than
//! one per backend.
//!
//! It decides everything but one thing: with text and the `relevance` sort,
//! BM25 orders the hits, and its statistics are the engine's own (how
//! fuzzy terms are weighted, how field lengths are rounded). There the
//! reference knows which products match, how many, and the facets, but not
//! their order ([`ranks_by_text`]); everywhere else it knows the exact
//! order, ties included.

use super::{
    Facets, INDEXED_WORD_BYTES, SearchDoc, SearchRequest, SearchResults, SearchSort, boost, price_buckets, price_range,
    top_buckets, word_matches, words,
};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// The words of a title that a query can match.
pub fn title_words(title: &str) -> Vec<String> {
    words(title)
        .into_iter()
        .filter(|w| w.len() < INDEXED_WORD_BYTES)
        .collect()
}

/// Whether `doc` answers `request`: it passes the filters and every query
/// word is within its edit distance of a title word.
pub fn matches(request: &SearchRequest, doc: &SearchDoc) -> bool {
    let query = request.text.as_deref().map(words).unwrap_or_default();
    if !request.admits(doc) {
        return false;
    }
    let title = title_words(&doc.title);
    query.iter().enumerate().all(|(i, q)| {
        let as_prefix = request.as_prefix(&query, i);
        title.iter().any(|t| word_matches(q, t, as_prefix))
    })
}

/// Whether BM25 orders the hits (the `relevance` sort with words to find),
/// which the reference leaves to the engine.
pub fn ranks_by_text(request: &SearchRequest) -> bool {
    request.sort == SearchSort::Relevance && request.text.as_deref().is_some_and(|t| !words(t).is_empty())
}

/// Which of two matches comes first, or `None` where BM25 decides.
pub fn compare(request: &SearchRequest, a: &SearchDoc, b: &SearchDoc) -> Option<Ordering> {
    let order = match request.sort {
        SearchSort::Relevance if ranks_by_text(request) => return None,
        // Without text, the boosts alone are the score.
        SearchSort::Relevance => {
            let score = |d: &SearchDoc| boost(d.in_stock(), d.rating);
            score(b).total_cmp(&score(a))
        }
        SearchSort::PriceAsc => a.price.amount.cmp(&b.price.amount),
        SearchSort::PriceDesc => b.price.amount.cmp(&a.price.amount),
        SearchSort::Rating => (b.rating, b.review_count).cmp(&(a.rating, a.review_count)),
        SearchSort::Newest => b.created_at.cmp(&a.created_at),
    };
    Some(order.then_with(|| a.product_id.cmp(&b.product_id)))
}

/// The facets of a set of matches.
pub fn facets(matches: &[SearchDoc]) -> Facets {
    let mut categories: HashMap<String, u64> = HashMap::new();
    let mut brands: HashMap<String, u64> = HashMap::new();
    let mut prices = [0u64; 4];
    for doc in matches {
        *categories.entry(doc.category_id.to_string()).or_default() += 1;
        *brands.entry(doc.brand.clone()).or_default() += 1;
        prices[price_range(doc.price.amount)] += 1;
    }
    let tenths: u64 = matches.iter().map(|d| u64::from(d.rating.tenths())).sum();
    Facets {
        categories: top_buckets(categories),
        brands: top_buckets(brands),
        price_ranges: price_buckets(prices),
        avg_rating: (!matches.is_empty()).then(|| tenths as f64 / matches.len() as f64 / 10.0),
    }
}

/// The reference answer to a request, before paging.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Every match, in the request's order; in id order where BM25 decides
    /// (see [`Reference::ordered`]).
    pub matches: Vec<SearchDoc>,
    pub facets: Facets,
    /// Whether `matches` is in the order a backend must return.
    pub ordered: bool,
}

impl Reference {
    /// The hits of the request's page.
    pub fn page(&self, request: &SearchRequest) -> &[SearchDoc] {
        let start = request.offset().min(self.matches.len());
        let end = start.saturating_add(request.limit as usize).min(self.matches.len());
        &self.matches[start..end]
    }
}

/// Everything `request` finds in `docs`.
pub fn answer(docs: &[SearchDoc], request: &SearchRequest) -> Reference {
    let mut found: Vec<SearchDoc> = docs.iter().filter(|d| matches(request, d)).cloned().collect();
    found.sort_by(|a, b| compare(request, a, b).unwrap_or_else(|| a.product_id.cmp(&b.product_id)));
    Reference {
        facets: facets(&found),
        ordered: !ranks_by_text(request),
        matches: found,
    }
}

/// `request` answered over `docs` as a backend answers it: one page, every
/// match counted. Where BM25 decides the order, the page is cut from the
/// matches in id order.
pub fn search(docs: &[SearchDoc], request: &SearchRequest) -> SearchResults {
    let reference = answer(docs, request);
    SearchResults {
        hits: reference.page(request).to_vec(),
        total: reference.matches.len() as u64,
        facets: reference.facets,
    }
}

/// Checks a backend's answer to `request` over `docs` against the
/// reference: the total, the facets, the page's size, and its hits (exactly
/// and in order, or where BM25 decides, that each is a match and none
/// repeats). Says what differs.
pub fn verify(docs: &[SearchDoc], request: &SearchRequest, results: &SearchResults) -> Result<(), String> {
    let reference = answer(docs, request);
    let fail = |what: String| Err(format!("{what}\n  for {request:?}"));
    if results.total != reference.matches.len() as u64 {
        return fail(format!(
            "total {} where the reference has {}",
            results.total,
            reference.matches.len()
        ));
    }
    let (got, want) = (&results.facets, &reference.facets);
    if (&got.categories, &got.brands, &got.price_ranges) != (&want.categories, &want.brands, &want.price_ranges) {
        return fail(format!("facets {got:?}\n  where the reference has {want:?}"));
    }
    let same_average = match (got.avg_rating, want.avg_rating) {
        (Some(got), Some(want)) => (got - want).abs() < 1e-9,
        (got, want) => got == want,
    };
    if !same_average {
        return fail(format!(
            "average rating {:?} where the reference has {:?}",
            got.avg_rating, want.avg_rating
        ));
    }
    let page = reference.page(request);
    if results.hits.len() != page.len() {
        return fail(format!(
            "{} hits on the page where the reference has {}",
            results.hits.len(),
            page.len()
        ));
    }
    if reference.ordered {
        if let Some((at, (got, want))) = results.hits.iter().zip(page).enumerate().find(|(_, (g, w))| g != w) {
            return fail(format!("hit {at} is {got:?}\n  where the reference has {want:?}"));
        }
        return Ok(());
    }
    let by_id: HashMap<&str, &SearchDoc> = reference.matches.iter().map(|d| (d.product_id.as_str(), d)).collect();
    let mut seen = HashSet::new();
    for hit in &results.hits {
        let id = hit.product_id.as_str();
        if by_id.get(id) != Some(&hit) {
            return fail(format!(
                "hit {hit:?} is not a match (or differs from the indexed product)"
            ));
        }
        if !seen.insert(id) {
            return fail(format!("{id} is on the page twice"));
        }
    }
    Ok(())
}

/// A small catalog that reaches the edges of the semantics: every price
/// boundary, ids sharing their first 8 bytes, neighbouring words for typos,
/// out-of-stock and unrated products, two departments with three leaves
/// each. The backends' conformance tests index it.
pub mod catalog {
    use crate::SearchDoc;
    use shop_domain::catalog::{MAX_PRICE_MINOR, Rating};
    use shop_domain::ids::{CategoryId, ProductId};
    use shop_domain::money::{Currency, Money};
    use time::OffsetDateTime;

    /// How many products [`docs`] has.
    pub const SIZE: usize = 300;
    pub const BRANDS: [&str; 6] = ["Acme", "Globex", "Hooli", "Initech", "Soylent", "Umbrella"];
    /// Department, leaf category, titles.
    pub const LEAVES: [(&str, &str, &[&str]); 6] = [
        (
            "electronics",
            "electronics-headphones",
            &[
                "Wireless Noise-Cancelling Headphones",
                "studio headphones",
                "kids headphones",
                "wireless earbuds",
            ],
        ),
        (
            "electronics",
            "electronics-tv",
            &["smart TV", "4k oled tv", "tv wall mount"],
        ),
        (
            "electronics",
            "electronics-speakers",
            &["portable bluetooth speaker", "smart speaker", "wireless speaker"],
        ),
        (
            "home",
            "home-lamps",
            &["ceramic table lamp", "LED desk lamp", "floor lamp"],
        ),
        ("home", "home-rugs", &["wool rug", "ceramic vase", "jute rug"]),
        (
            "home",
            "home-outdoor",
            &["hiking boots", "camping lamp", "hiking backpack"],
        ),
    ];
    const ADJECTIVES: [&str; 5] = ["classic", "premium", "compact", "deluxe", "eco"];
    /// Every price range, with its exact boundaries.
    const PRICES: [i64; 14] = [
        1,
        999,
        2499,
        2500,
        2501,
        4999,
        5000,
        5001,
        7500,
        9999,
        10_000,
        10_001,
        25_000,
        MAX_PRICE_MINOR,
    ];

    /// A category id of the catalog.
    pub fn category(id: &str) -> CategoryId {
        CategoryId::parse(id).expect("the catalog's category ids are valid")
    }

    /// A product id.
    pub fn product_id(id: &str) -> ProductId {
        ProductId::parse(id).expect("the catalog's product ids are valid")
    }

    /// Product `n`: every third id shares its first 8 bytes (`LONGSKU-`)
    /// with the others like it, so ties reach the rest of the id.
    pub fn doc(n: usize) -> SearchDoc {
        let (department, leaf, titles) = LEAVES[n % LEAVES.len()];
        let id = if n.is_multiple_of(3) {
            format!("LONGSKU-{:05}", (n * 37) % 1000)
        } else {
            format!("P{n:04}")
        };
        let created = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("a valid timestamp")
            + time::Duration::milliseconds(((n * 7919) % 1000) as i64 * 60_000 + (n % 7) as i64);
        SearchDoc {
            product_id: product_id(&id),
            title: format!(
                "{} {}",
                ADJECTIVES[(n / 7) % ADJECTIVES.len()],
                titles[(n / 6) % titles.len()]
            ),
            brand: BRANDS[(n * 5 + n / 6) % BRANDS.len()].to_owned(),
            category_id: category(leaf),
            category_path: vec![category(department), category(leaf)],
            price: Money::new(PRICES[(n * 7 + n / 12) % PRICES.len()], Currency::USD),
            rating: Rating::from_tenths(((n * 13) % 51) as u8).expect("at most 50 tenths"),
            review_count: ((n * 31) % 500) as u32,
            available: if n.is_multiple_of(5) { 0 } else { (n % 7) as i64 },
            created_at: created,
        }
    }

    /// The whole catalog.
    pub fn docs() -> Vec<SearchDoc> {
        (0..SIZE).map(doc).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Bucket, SearchRequest, edit_distance};

    fn everything() -> SearchRequest {
        SearchRequest {
            limit: 1000,
            ..SearchRequest::default()
        }
    }

    #[test]
    fn the_oracle_counts_transpositions_as_one_edit() {
        assert_eq!(edit_distance("lmap", "lamp"), 1);
        assert_eq!(edit_distance("hedphones", "headphones"), 1);
        assert_eq!(edit_distance("tv", "tv"), 0);
        assert_eq!(edit_distance("ca", "abc"), 3);
    }

    #[test]
    fn long_title_words_cannot_be_found() {
        let long = "a".repeat(INDEXED_WORD_BYTES);
        let shorter = "b".repeat(INDEXED_WORD_BYTES - 1);
        assert_eq!(
            title_words(&format!("{long} {shorter} lamp")),
            [shorter.as_str(), "lamp"]
        );
    }

    #[test]
    fn the_reference_pages_through_every_match_in_order() {
        let docs = catalog::docs();
        let all = answer(&docs, &everything());
        assert!(all.ordered);
        assert_eq!(all.matches.len(), catalog::SIZE);
        let second = SearchRequest {
            page: 2,
            limit: 7,
            ..everything()
        };
        assert_eq!(search(&docs, &second).hits, all.matches[7..14]);
        let beyond = SearchRequest { page: 100, ..second };
        let results = search(&docs, &beyond);
        assert!(results.hits.is_empty());
        assert_eq!(results.total, catalog::SIZE as u64);
    }

    #[test]
    fn verify_names_what_differs() {
        let docs = catalog::docs();
        let request = SearchRequest {
            text: Some("lamp".into()),
            ..everything()
        };
        let right = search(&docs, &request);
        assert!(!answer(&docs, &request).ordered);
        assert_eq!(verify(&docs, &request, &right), Ok(()));
        // Any order of the matches will do where BM25 decides...
        let mut reversed = right.clone();
        reversed.hits.reverse();
        assert_eq!(verify(&docs, &request, &reversed), Ok(()));
        // ...but not a missing hit, a wrong count or a wrong facet.
        let mut short = right.clone();
        short.hits.pop();
        assert!(
            verify(&docs, &request, &short)
                .unwrap_err()
                .contains("hits on the page")
        );
        let mut miscounted = right.clone();
        miscounted.total += 1;
        assert!(verify(&docs, &request, &miscounted).unwrap_err().contains("total"));
        let mut facets = right;
        facets.facets.brands.push(Bucket {
            key: "Nobody".into(),
            count: 1,
        });
        assert!(verify(&docs, &request, &facets).unwrap_err().contains("facets"));
        // Without text the order is the reference's.
        let mut wrong_order = search(&docs, &everything());
        wrong_order.hits.swap(0, 1);
        assert!(
            verify(&docs, &everything(), &wrong_order)
                .unwrap_err()
                .contains("hit 0")
        );
    }
}
