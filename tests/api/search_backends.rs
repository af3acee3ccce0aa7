//! The search backends' conformance suite: tantivy (in memory) and
//! OpenSearch (on osmem-server, started per test) index the same catalog
//! (`oracle::catalog`), answer the same requests, and each answer is checked
//! against the reference search (`oracle::verify`) and against the other
//! backend's.
//!
//! What agrees exactly, between the backends and with the reference: which
//! products match, the total, every facet (counts, order, average), and for
//! every sort but relevance-with-text the hits of every page, in order.
//! With text and the relevance sort, BM25 orders the hits, and the engines
//! weigh fuzzy terms differently: there the backends agree on the set of
//! matches, the total and the facets, not on the order.

use devstack::osmem::{self, Osmem};
use shop_domain::catalog::Rating;
use shop_domain::ids::ProductId;
use shop_domain::money::{Currency, Money};
use shop_search::backend::AnyBackend;
use shop_search::opensearch::{OpenSearchBackend, Signing};
use shop_search::oracle::{self, catalog};
use shop_search::tantivy::TantivyBackend;
use shop_search::{
    MAX_LIMIT, MAX_PAGE, SearchBackend, SearchDoc, SearchError, SearchRequest, SearchResults, SearchSort, words,
};
use std::collections::BTreeSet;

const INDEX: &str = "products";

/// The two backends, holding the same products.
struct Backends {
    osmem: Osmem,
    tantivy: AnyBackend,
    opensearch: AnyBackend,
}

impl Backends {
    /// Both backends with `docs` indexed in batches of 100 (several tantivy
    /// segments, several `_bulk` requests).
    async fn with(docs: &[SearchDoc]) -> Self {
        let binary = osmem::ensure_installed(&devstack::project_root()).await.unwrap();
        let osmem = Osmem::start(&binary).await.unwrap();
        let opensearch = OpenSearchBackend::new(&osmem.endpoint, INDEX, Signing::Unsigned).unwrap();
        opensearch.ensure_index().await.unwrap();
        let backends = Self {
            osmem,
            tantivy: AnyBackend::Tantivy(TantivyBackend::in_memory().unwrap()),
            opensearch: AnyBackend::OpenSearch(opensearch),
        };
        for batch in docs.chunks(100) {
            backends.upsert(batch.to_vec()).await;
        }
        backends
    }

    fn each(&self) -> [(&'static str, &AnyBackend); 2] {
        [("tantivy", &self.tantivy), ("opensearch", &self.opensearch)]
    }

    async fn upsert(&self, docs: Vec<SearchDoc>) {
        for (name, backend) in self.each() {
            backend
                .upsert(docs.clone())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    async fn remove(&self, ids: Vec<ProductId>) {
        for (name, backend) in self.each() {
            backend
                .remove(ids.clone())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    async fn count(&self) -> [u64; 2] {
        let mut counts = [0; 2];
        for ((name, backend), count) in self.each().into_iter().zip(&mut counts) {
            *count = backend.count().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        counts
    }

    /// Asks both backends, checks each answer against the reference and the
    /// two against each other; returns them (tantivy's first).
    async fn check(&self, docs: &[SearchDoc], request: &SearchRequest) -> [SearchResults; 2] {
        let mut answers = Vec::new();
        for (name, backend) in self.each() {
            let results = backend.search(request).await.unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Err(difference) = oracle::verify(docs, request, &results) {
                panic!("{name}: {difference}");
            }
            answers.push(results);
        }
        let [tantivy, opensearch]: [SearchResults; 2] = answers.try_into().expect("two answers");
        assert_eq!(tantivy.total, opensearch.total, "totals for {request:?}");
        assert_eq!(tantivy.facets, opensearch.facets, "facets for {request:?}");
        if !oracle::ranks_by_text(request) {
            assert_eq!(tantivy.hits, opensearch.hits, "hits for {request:?}");
        } else if request.offset() == 0 && tantivy.total <= u64::from(request.limit) {
            // One page holds every match: the same products, in any order.
            assert_eq!(
                id_set(&tantivy.hits),
                id_set(&opensearch.hits),
                "matches for {request:?}"
            );
        }
        [tantivy, opensearch]
    }

    async fn stop(self) {
        self.osmem.stop().await;
    }
}

fn text(text: &str) -> SearchRequest {
    SearchRequest {
        text: Some(text.to_owned()),
        ..everything()
    }
}

/// A request for every match on one page.
fn everything() -> SearchRequest {
    SearchRequest {
        limit: 1000,
        ..SearchRequest::default()
    }
}

fn ids(hits: &[SearchDoc]) -> Vec<&str> {
    hits.iter().map(|d| d.product_id.as_str()).collect()
}

fn id_set(hits: &[SearchDoc]) -> BTreeSet<&str> {
    hits.iter().map(|d| d.product_id.as_str()).collect()
}

fn brands(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn every_filter_alone_and_combined_matches_the_reference_in_every_sort() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    assert_eq!(backends.count().await, [catalog::SIZE as u64; 2]);
    let requests = [
        everything(),
        SearchRequest {
            category: Some(catalog::category("electronics")),
            ..everything()
        },
        SearchRequest {
            category: Some(catalog::category("home-lamps")),
            ..everything()
        },
        SearchRequest {
            category: Some(catalog::category("garden")),
            ..everything()
        },
        SearchRequest {
            brands: brands(&["Acme"]),
            ..everything()
        },
        SearchRequest {
            brands: brands(&["Acme", "Umbrella", "Nobody"]),
            ..everything()
        },
        // Brand names are exact.
        SearchRequest {
            brands: brands(&["acme"]),
            ..everything()
        },
        SearchRequest {
            price_min: Some(2500),
            ..everything()
        },
        SearchRequest {
            price_max: Some(5000),
            ..everything()
        },
        SearchRequest {
            price_min: Some(2500),
            price_max: Some(10_000),
            ..everything()
        },
        SearchRequest {
            price_min: Some(2500),
            price_max: Some(2500),
            ..everything()
        },
        SearchRequest {
            in_stock_only: true,
            ..everything()
        },
        SearchRequest {
            rating_min: Some(4),
            ..everything()
        },
        SearchRequest {
            category: Some(catalog::category("home")),
            brands: brands(&["Globex", "Hooli", "Initech"]),
            price_min: Some(1),
            price_max: Some(10_000),
            in_stock_only: true,
            ..everything()
        },
        SearchRequest {
            category: Some(catalog::category("home")),
            price_max: Some(5000),
            in_stock_only: true,
            rating_min: Some(3),
            ..text("lamp")
        },
    ];
    for request in requests {
        for (_, sort) in SearchSort::ALL {
            backends
                .check(
                    &docs,
                    &SearchRequest {
                        sort,
                        ..request.clone()
                    },
                )
                .await;
        }
    }
    backends.stop().await;
}

#[tokio::test]
async fn misspelt_and_transposed_words_match_within_their_edit_distance() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    for (query, word) in [
        // A transposition is one edit.
        ("lmap", "lamp"),
        ("hedphones", "headphones"),
        ("haedphones", "headphones"),
        ("ceramik", "ceramic"),
        // Two edits from a long word.
        ("hedphnes", "headphones"),
        ("tv", "tv"),
    ] {
        for results in backends.check(&docs, &text(query)).await {
            assert!(
                !results.hits.is_empty() && results.hits.iter().all(|d| words(&d.title).iter().any(|w| w == word)),
                "{query} finds {word}"
            );
        }
    }
    // Two characters must match exactly; three to five may be one edit
    // away, not two.
    for (query, found) in [
        ("tc", false),
        ("rag", true),
        ("lapm", true),
        ("lmpa", false),
        ("lxmpa", false),
    ] {
        for results in backends.check(&docs, &text(query)).await {
            assert_eq!(results.total > 0, found, "{query}");
        }
    }
    for query in [
        "HIKING boots!",
        "speeker",
        "eco",
        "4k",
        "wireles",
        "noise cancelling",
        "",
        " ?! ",
    ] {
        for (_, sort) in SearchSort::ALL {
            backends.check(&docs, &SearchRequest { sort, ..text(query) }).await;
        }
    }
    backends.stop().await;
}

#[tokio::test]
async fn every_word_is_required() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    let [both, _] = backends.check(&docs, &text("wireless speaker")).await;
    let [wireless, _] = backends.check(&docs, &text("wireless")).await;
    assert!(both.total > 0 && both.total < wireless.total);
    for results in backends.check(&docs, &text("wireless lamp")).await {
        assert_eq!(results.total, 0);
    }
    for results in backends.check(&docs, &text("lamp zzzzqqq")).await {
        assert_eq!((results.total, results.facets.avg_rating), (0, None));
        assert!(results.facets.categories.is_empty() && results.facets.brands.is_empty());
        assert!(results.facets.price_ranges.iter().all(|b| b.count == 0));
    }
    backends.stop().await;
}

/// Suggestions: the last word may be the start of a title word, on both
/// backends exactly as the reference says.
#[tokio::test]
async fn a_suggestions_last_word_may_be_the_start_of_a_title_word() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    let typing = |q: &str| SearchRequest {
        prefix: true,
        ..text(q)
    };
    for query in [
        "headph",
        "wireless speak",
        "hedphones",
        "cer",
        "l",
        "noise canc",
        "headph wireless",
    ] {
        for (_, sort) in SearchSort::ALL {
            backends.check(&docs, &SearchRequest { sort, ..typing(query) }).await;
        }
    }
    let [found, _] = backends.check(&docs, &typing("headph")).await;
    assert!(found.total > 0);
    for results in backends.check(&docs, &text("headph")).await {
        assert_eq!(results.total, 0, "without prefix, a word's start is not enough");
    }
    backends.stop().await;
}

#[tokio::test]
async fn title_words_of_40_bytes_or_more_are_not_indexed() {
    let mut docs = catalog::docs();
    let long = "x".repeat(shop_search::INDEXED_WORD_BYTES);
    let longest_indexed = "y".repeat(shop_search::INDEXED_WORD_BYTES - 1);
    docs.push(SearchDoc {
        product_id: catalog::product_id("LONGWORDS"),
        title: format!("{long} {longest_indexed} gadget"),
        ..catalog::doc(1)
    });
    let backends = Backends::with(&docs).await;
    let totals = |results: [SearchResults; 2]| results.map(|r| r.total);
    assert_eq!(totals(backends.check(&docs, &text("gadget")).await), [1, 1]);
    assert_eq!(totals(backends.check(&docs, &text(&longest_indexed)).await), [1, 1]);
    assert_eq!(totals(backends.check(&docs, &text(&long)).await), [0, 0]);
    // A query word that long is not dropped: it finds nothing.
    assert_eq!(
        totals(backends.check(&docs, &text(&format!("gadget {long}"))).await),
        [0, 0]
    );
    backends.stop().await;
}

#[tokio::test]
async fn in_stock_products_rank_above_their_out_of_stock_twins() {
    let mut docs = catalog::docs();
    let twin = |id: &str, available| SearchDoc {
        product_id: catalog::product_id(id),
        title: "Glowing Orb".into(),
        available,
        ..catalog::doc(7)
    };
    // The out-of-stock twin has the smaller id, so only the boost can put
    // the other first.
    docs.push(twin("ORB-A", 0));
    docs.push(twin("ORB-B", 3));
    // A better rating outranks a worse one the same way.
    docs.push(SearchDoc {
        rating: Rating::from_tenths(49).unwrap(),
        ..twin("ORB-0", 0)
    });
    docs.push(SearchDoc {
        rating: Rating::from_tenths(9).unwrap(),
        ..twin("ORB-1", 0)
    });
    let backends = Backends::with(&docs).await;
    for query in ["glowing orb", "orb"] {
        for results in backends.check(&docs, &text(query)).await {
            assert_eq!(ids(&results.hits), ["ORB-B", "ORB-0", "ORB-A", "ORB-1"], "{query}");
        }
    }
    backends.stop().await;
}

#[tokio::test]
async fn filters_do_not_change_the_relevance_order() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    for query in ["lamp", "wireless", "headphones"] {
        let filtered = SearchRequest {
            brands: catalog::BRANDS[..4].iter().map(|b| b.to_string()).collect(),
            price_min: Some(2500),
            in_stock_only: true,
            ..text(query)
        };
        for (name, backend) in backends.each() {
            let all = backend.search(&text(query)).await.unwrap();
            let expected: Vec<SearchDoc> = all.hits.into_iter().filter(|d| filtered.admits(d)).collect();
            assert_eq!(
                backend.search(&filtered).await.unwrap().hits,
                expected,
                "{name}: {query}"
            );
        }
    }
    backends.stop().await;
}

#[tokio::test]
async fn pages_concatenate_to_the_full_ordered_list() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    for query in [everything(), text("lamp"), text("wireless headphones"), text("ceramic")] {
        for (_, sort) in SearchSort::ALL {
            let full = SearchRequest { sort, ..query.clone() };
            let mut pages: Vec<Vec<SearchDoc>> = Vec::new();
            for (name, backend) in backends.each() {
                let all = backend.search(&full).await.unwrap();
                let mut paged = Vec::new();
                for page in 1.. {
                    let request = SearchRequest {
                        page,
                        limit: 7,
                        ..full.clone()
                    };
                    let results = backend.search(&request).await.unwrap();
                    assert_eq!((results.total, &results.facets), (all.total, &all.facets), "{name}");
                    oracle::verify(&docs, &request, &results).unwrap_or_else(|e| panic!("{name}: {e}"));
                    if results.hits.is_empty() {
                        break;
                    }
                    paged.extend(results.hits);
                }
                assert_eq!(ids(&paged), ids(&all.hits), "{name}: {full:?}");
                assert_eq!(id_set(&paged).len(), paged.len(), "{name}: a hit on two pages");
                pages.push(paged);
            }
            if !oracle::ranks_by_text(&full) {
                assert_eq!(pages[0], pages[1], "the backends' pages for {full:?}");
            }
        }
    }
    backends.stop().await;
}

#[tokio::test]
async fn the_deepest_page_is_allowed() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    let deepest = SearchRequest {
        page: MAX_PAGE,
        limit: MAX_LIMIT,
        ..SearchRequest::default()
    };
    for results in backends.check(&docs, &deepest).await {
        assert!(results.hits.is_empty());
        assert_eq!(results.total, catalog::SIZE as u64);
    }
    backends.stop().await;
}

#[tokio::test]
async fn an_upsert_replaces_the_product_with_the_same_id() {
    let mut docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    let old = docs[1].clone();
    let new = SearchDoc {
        title: "Velvet Armchair".into(),
        price: Money::new(30_000, Currency::USD),
        available: 0,
        ..old.clone()
    };
    backends.upsert(vec![new.clone()]).await;
    docs[1] = new.clone();
    assert_eq!(backends.count().await, [catalog::SIZE as u64; 2]);
    for results in backends.check(&docs, &text("armchair")).await {
        assert_eq!(results.hits, std::slice::from_ref(&new));
    }
    let old_word = words(&old.title).pop().unwrap();
    for results in backends.check(&docs, &text(&old_word)).await {
        assert!(!results.hits.iter().any(|d| d.product_id == old.product_id));
    }
    backends.check(&docs, &everything()).await;

    // The last of two versions in one batch wins.
    let first = SearchDoc {
        title: "Oak Bookshelf".into(),
        ..new.clone()
    };
    let last = SearchDoc {
        title: "Pine Bookshelf".into(),
        ..new
    };
    backends.upsert(vec![first, last.clone()]).await;
    docs[1] = last.clone();
    assert_eq!(backends.count().await, [catalog::SIZE as u64; 2]);
    for results in backends.check(&docs, &text("bookshelf")).await {
        assert_eq!(results.hits, std::slice::from_ref(&last));
    }
    backends.stop().await;
}

#[tokio::test]
async fn removed_products_are_gone_and_absent_ids_are_fine() {
    let mut docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    let gone = vec![
        docs[0].product_id.clone(),
        docs[4].product_id.clone(),
        catalog::product_id("NOPE"),
    ];
    backends.remove(gone.clone()).await;
    docs.retain(|d| !gone.contains(&d.product_id));
    assert_eq!(backends.count().await, [catalog::SIZE as u64 - 2; 2]);
    backends.check(&docs, &everything()).await;
    backends.check(&docs, &text("headphones")).await;
    backends.remove(Vec::new()).await;
    backends.upsert(Vec::new()).await;
    assert_eq!(backends.count().await, [catalog::SIZE as u64 - 2; 2]);
    backends.stop().await;
}

#[tokio::test]
async fn relevance_with_text_agrees_on_matches_totals_and_facets() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    let mut reordered = Vec::new();
    let queries = [
        "lamp",
        "lmap",
        "wireless",
        "smart",
        "ceramic table",
        "hiking",
        "studio headphones",
        "rug",
    ];
    for query in queries {
        let [tantivy, opensearch] = backends.check(&docs, &text(query)).await;
        if ids(&tantivy.hits) != ids(&opensearch.hits) {
            reordered.push(query);
        }
        // Both put an in-stock hit first whenever there is one.
        for (name, results) in [("tantivy", &tantivy), ("opensearch", &opensearch)] {
            if results.hits.iter().any(SearchDoc::in_stock) {
                assert!(results.hits[0].in_stock(), "{name}: {query}");
            }
        }
    }
    // Not a promise, only what the engines' BM25 statistics give today.
    println!("relevance orders differ for {reordered:?} of {queries:?}");
    backends.stop().await;
}

#[tokio::test]
async fn an_existing_index_is_left_as_it_is() {
    let docs = catalog::docs();
    let backends = Backends::with(&docs).await;
    let opensearch = OpenSearchBackend::new(&backends.osmem.endpoint, INDEX, Signing::Unsigned).unwrap();
    opensearch.ensure_index().await.unwrap();
    assert_eq!(opensearch.count().await.unwrap(), catalog::SIZE as u64);
    backends.check(&docs, &text("lamp")).await;
    backends.stop().await;
}

#[tokio::test]
async fn a_missing_index_fails_and_a_stopped_server_is_unavailable() {
    let backends = Backends::with(&[]).await;
    let endpoint = backends.osmem.endpoint.clone();
    let missing = OpenSearchBackend::new(&endpoint, "missing", Signing::Unsigned).unwrap();
    assert!(
        matches!(missing.search(&everything()).await, Err(SearchError::Failed(m)) if m.contains("index_not_found"))
    );
    let present = OpenSearchBackend::new(&endpoint, INDEX, Signing::Unsigned).unwrap();
    assert_eq!(present.count().await.unwrap(), 0);
    backends.stop().await;
    assert!(matches!(
        present.search(&everything()).await,
        Err(SearchError::Unavailable(_))
    ));
    assert!(matches!(
        present.upsert(vec![catalog::doc(1)]).await,
        Err(SearchError::Unavailable(_))
    ));
}
