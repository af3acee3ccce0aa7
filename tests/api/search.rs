//! `GET /search` through the local gateway, against the seeded catalog
//! indexed by the runner; the index's own semantics are tested against a
//! brute-force oracle in `shop_search::tantivy`.

use crate::helpers::TestApp;
use devstack::seed;
use reqwest::Method;
use serde_json::Value;
use shop_domain::catalog::category_path;
use shop_domain::stock::StockLevel;
use shop_search::{SearchBackend, SearchDoc, SearchError, SearchRequest, SearchResults, Searcher};

const PRODUCTS: usize = 300;

/// The seeded catalog as search documents (what the index must hold).
fn catalog() -> Vec<SearchDoc> {
    let categories = seed::categories();
    (1..=PRODUCTS)
        .map(|n| {
            let (product, on_hand) = seed::product(n);
            let stock = StockLevel {
                on_hand,
                available: on_hand,
                ..StockLevel::default()
            };
            let path = category_path(&categories, &product.category_id);
            SearchDoc::new(&product, &stock, path)
        })
        .collect()
}

fn ids(reply: &Value) -> Vec<String> {
    ids_in(&reply["products"])
}

fn suggested(reply: &Value) -> Vec<String> {
    ids_in(&reply["suggestions"])
}

fn ids_in(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["productId"].as_str().unwrap().to_owned())
        .collect()
}

/// The catalog's most common title word of 7 letters or more, and the
/// same word misspelt by dropping its third letter.
fn common_word(docs: &[SearchDoc]) -> (String, String) {
    let mut frequency = std::collections::BTreeMap::<String, usize>::new();
    for doc in docs {
        for word in shop_search::words(&doc.title).into_iter().filter(|w| w.len() >= 7) {
            *frequency.entry(word).or_default() += 1;
        }
    }
    let (word, _) = frequency.into_iter().max_by_key(|(_, n)| *n).unwrap();
    let misspelt = format!("{}{}", &word[..2], &word[3..]);
    (word, misspelt)
}

#[tokio::test]
async fn search_finds_misspelt_words_filters_and_counts_facets_over_every_match() {
    let app = TestApp::seeded(PRODUCTS).await;
    let docs = catalog();
    let (word, misspelt) = common_word(&docs);
    let matches = |d: &&SearchDoc| {
        shop_search::words(&d.title)
            .iter()
            .any(|w| shop_search::edit_distance(w, &misspelt) <= 2)
    };
    let expected = docs.iter().filter(matches).count();
    assert!(expected > 3, "the fixture has {word}");

    let reply = app.get(&format!("/search?q={misspelt}&limit=100")).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["degraded"], false);
    assert_eq!(reply.body["totalCount"], expected as u64);
    let facets = &reply.body["facets"];
    let price_total: u64 = facets["priceRanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(price_total, expected as u64, "every match is in one price range");
    assert_eq!(facets["priceRanges"].as_array().unwrap().len(), 4);
    let brand_total: u64 = facets["brands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(brand_total, expected as u64);
    assert!(reply.body["products"][0]["available"].is_i64());

    // Filters: in stock, a department, and a price range (inclusive, cents).
    let in_stock = app.get(&format!("/search?q={misspelt}&inStock=true&limit=100")).await;
    let expected_in_stock = docs.iter().filter(matches).filter(|d| d.in_stock()).count();
    assert_eq!(in_stock.body["totalCount"], expected_in_stock as u64);
    assert!(
        in_stock.body["products"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["inStock"] == true)
    );
    let rated = app.get(&format!("/search?q={misspelt}&ratingMin=3&limit=100")).await;
    let expected_rated = docs.iter().filter(matches).filter(|d| d.rating.tenths() >= 30).count();
    assert_eq!(rated.body["totalCount"], expected_rated as u64);
    assert!(
        expected_rated > 0 && expected_rated < expected,
        "the fixture has ratings on both sides of 3"
    );
    assert!(
        rated.body["products"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["rating"].as_f64().unwrap() >= 3.0)
    );
    let electronics = app.get("/search?category=electronics&limit=1").await;
    let expected_electronics = docs
        .iter()
        .filter(|d| d.category_path.iter().any(|c| c.as_str() == "electronics"))
        .count();
    assert_eq!(electronics.body["totalCount"], expected_electronics as u64);
    let cheap = app.get("/search?priceMax=2499&sort=price_desc&limit=100").await;
    let prices: Vec<i64> = cheap.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["price"]["amount"].as_i64().unwrap())
        .collect();
    assert!(prices.iter().all(|p| *p <= 2499));
    assert!(
        prices.windows(2).all(|w| w[0] >= w[1]),
        "sorted by price, highest first"
    );
    assert_eq!(
        cheap.body["totalCount"],
        docs.iter().filter(|d| d.price.amount <= 2499).count() as u64
    );
    app.stop().await;
}

#[tokio::test]
async fn pages_are_stable_and_say_whether_more_follow() {
    let app = TestApp::seeded(PRODUCTS).await;
    let all = app.get("/search?category=electronics&limit=30").await;
    let mut paged = Vec::new();
    for page in 1..=3 {
        let reply = app
            .get(&format!("/search?category=electronics&limit=10&page={page}"))
            .await;
        assert_eq!(reply.body["page"], page);
        paged.extend(ids(&reply.body));
    }
    assert_eq!(paged, ids(&all.body));
    let total = all.body["totalCount"].as_u64().unwrap();
    let last = (total as usize).div_ceil(10);
    let reply = app
        .get(&format!("/search?category=electronics&limit=10&page={last}"))
        .await;
    assert_eq!(reply.body["hasMore"], false);
    assert_eq!(
        app.get("/search?category=electronics&limit=10").await.body["hasMore"],
        true
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_search_parameters_are_400_naming_the_parameter() {
    let app = TestApp::seeded(10).await;
    for (query, field) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("priceMin=5000&priceMax=100", "priceMin"),
        ("priceMin=-1", "priceMin"),
        ("priceMax=abc", "priceMax"),
        ("sort=cheapest", "sort"),
        ("inStock=yes", "inStock"),
        ("ratingMin=0", "ratingMin"),
        ("ratingMin=4.5", "ratingMin"),
        ("category=Not%20A%20Slug", "category"),
        ("colour=red", "colour"),
    ] {
        refused(&app, &format!("/search?{query}"), field).await;
    }
    let long = "x".repeat(201);
    app.get(&format!("/search?q={long}"))
        .await
        .problem(400, "VALIDATION_FAILED");
    app.get("/search?category=no-such-category")
        .await
        .problem(404, "NOT_FOUND");
    app.stop().await;
}

#[tokio::test]
async fn suggestions_finish_the_last_word_forgive_typos_and_refuse_bad_input() {
    let app = TestApp::seeded(PRODUCTS).await;
    let docs = catalog();
    let (word, misspelt) = common_word(&docs);
    let start = &word[..4];
    let other = docs
        .iter()
        .flat_map(|d| shop_search::words(&d.title))
        .find(|w| w.len() >= 4 && !w.starts_with(start))
        .unwrap();
    for typed in [
        start.to_owned(),
        misspelt.clone(),
        format!("{} {start}", &misspelt),
        format!("{other} {start}"),
    ] {
        let reply = app
            .get(&format!("/search/suggest?q={}", typed.replace(' ', "%20")))
            .await;
        assert_eq!(reply.status, 200, "{typed}: {}", reply.body);
        assert_eq!(
            (reply.body["query"].as_str(), &reply.body["degraded"]),
            (Some(typed.as_str()), &Value::Bool(false))
        );
        let request = SearchRequest {
            text: Some(typed.clone()),
            prefix: true,
            ..SearchRequest::default()
        };
        let expected: Vec<&str> = docs
            .iter()
            .filter(|d| shop_search::oracle::matches(&request, d))
            .map(|d| d.product_id.as_str())
            .collect();
        let got = suggested(&reply.body);
        assert_eq!(got.len(), expected.len().min(8), "{typed}: {got:?}");
        assert!(
            got.iter().all(|id| expected.contains(&id.as_str())),
            "{typed}: {got:?} ⊄ {expected:?}"
        );
        assert!(reply.body["suggestions"][0]["available"].is_i64() || got.is_empty());
    }
    let some = app.get(&format!("/search/suggest?q={start}")).await;
    assert!(
        !suggested(&some.body).is_empty(),
        "the start of a common word suggests something"
    );
    assert_eq!(
        suggested(&app.get(&format!("/search/suggest?q={start}&limit=2")).await.body).len(),
        2
    );

    for nothing in ["", "?q=", "?q=%20%20", "?q=%21%3F"] {
        let reply = app.get(&format!("/search/suggest{nothing}")).await;
        assert_eq!(reply.status, 200, "{nothing}");
        assert!(suggested(&reply.body).is_empty(), "{nothing}");
    }
    for (query, field) in [
        ("q=lamp&limit=0", "limit"),
        ("q=lamp&limit=11", "limit"),
        ("q=lamp&limit=x", "limit"),
        ("q=lamp&q=desk", "q"),
        ("q=lamp&colour=red", "colour"),
    ] {
        refused(&app, &format!("/search/suggest?{query}"), field).await;
    }
    let long = "x".repeat(201);
    app.get(&format!("/search/suggest?q={long}"))
        .await
        .problem(400, "VALIDATION_FAILED");
    app.stop().await;
}

/// `path` is answered 400 naming `field`.
async fn refused(app: &TestApp, path: &str, field: &str) {
    let reply = app.get(path).await;
    reply.problem(400, "VALIDATION_FAILED");
    assert!(
        reply.fields().contains(&field.to_owned()),
        "{path}: {:?}",
        reply.fields()
    );
}

/// A backend that is down.
struct Down;

impl SearchBackend for Down {
    async fn search(&self, _: &SearchRequest) -> Result<SearchResults, SearchError> {
        Err(SearchError::Unavailable("down for the test".into()))
    }
    async fn upsert(&self, _: Vec<SearchDoc>) -> Result<(), SearchError> {
        Err(SearchError::Unavailable("down for the test".into()))
    }
    async fn remove(&self, _: Vec<shop_domain::ids::ProductId>) -> Result<(), SearchError> {
        Err(SearchError::Unavailable("down for the test".into()))
    }
    async fn count(&self) -> Result<u64, SearchError> {
        Err(SearchError::Unavailable("down for the test".into()))
    }
}

#[tokio::test]
async fn when_the_backend_is_down_search_answers_from_category_browse_flagged_degraded() {
    let app = TestApp::seeded(PRODUCTS).await;
    let store = shop_store::DynamoStore::new(app.stack.dynamodb.clone(), app.stack.table());
    let searcher = Searcher::new(Down);
    let request = |query: &str| {
        let uri = format!("https://shop.example/search?{query}");
        let params: std::collections::HashMap<String, Vec<String>> = url_pairs(query);
        lambda_http::RequestExt::with_query_string_parameters(
            lambda_http::http::Request::builder()
                .method(Method::GET.as_str())
                .uri(uri)
                .body(lambda_http::Body::Empty)
                .unwrap(),
            params,
        )
    };

    for _ in 0..shop_search::breaker::FAILURES_TO_OPEN + 1 {
        let response = search::handle(&store, &searcher, request("category=electronics&inStock=true&limit=5")).await;
        assert_eq!(response.status(), 200);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["degraded"], true);
        let products = body["products"].as_array().unwrap();
        assert!(!products.is_empty());
        assert!(products.iter().all(|p| p["inStock"] == true));
        assert!(
            products
                .iter()
                .all(|p| p["categoryId"].as_str().unwrap().starts_with("electronics"))
        );
    }
    assert!(
        matches!(searcher.breaker.state(), shop_search::breaker::State::Open { .. }),
        "the breaker opened after repeated failures"
    );
    let response = search_suggest::handle(&store, &searcher, request("q=lamp")).await;
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(
        (&body["degraded"], &body["suggestions"]),
        (&Value::Bool(true), &serde_json::json!([]))
    );
    app.stop().await;
}

fn url_pairs(query: &str) -> std::collections::HashMap<String, Vec<String>> {
    let mut params: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for pair in query.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            params.entry(k.to_owned()).or_default().push(v.to_owned());
        }
    }
    params
}
