use crate::helpers::TestApp;
use serde_json::Value;
use std::collections::HashSet;

/// Follows `nextPage` to the end and returns every product seen.
async fn browse_all(app: &TestApp, category: &str, sort: &str, limit: u32) -> Vec<Value> {
    let mut products = Vec::new();
    let mut page: Option<String> = None;
    for _ in 0..1000 {
        let mut path = format!("/categories/{category}/products?sort={sort}&limit={limit}");
        if let Some(token) = &page {
            path.push_str(&format!("&page={token}"));
        }
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let batch = reply.body["products"].as_array().unwrap().clone();
        assert!(batch.len() <= limit as usize);
        products.extend(batch);
        match reply.body["nextPage"].as_str() {
            Some(token) => {
                assert_eq!(reply.body["hasMore"], true);
                page = Some(token.to_owned());
            }
            None => {
                assert_eq!(reply.body["hasMore"], false);
                return products;
            }
        }
    }
    panic!("paging did not end");
}

fn expected_ids(count: usize, in_category: impl Fn(&str) -> bool) -> HashSet<String> {
    (1..=count)
        .map(devstack::seed::product)
        .filter(|(p, _)| in_category(p.category_id.as_str()))
        .map(|(p, _)| p.id.to_string())
        .collect()
}

#[tokio::test]
async fn browsing_a_leaf_pages_through_every_product_once_in_price_order() {
    let app = TestApp::seeded(400).await;
    let products = browse_all(&app, "electronics-headphones", "price_asc", 7).await;

    let ids: Vec<String> = products
        .iter()
        .map(|p| p["productId"].as_str().unwrap().to_owned())
        .collect();
    let unique: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "a product was shown twice");
    assert_eq!(unique, expected_ids(400, |c| c == "electronics-headphones"));
    let prices: Vec<i64> = products
        .iter()
        .map(|p| p["price"]["amount"].as_i64().unwrap())
        .collect();
    assert!(
        prices.windows(2).all(|w| w[0] <= w[1]),
        "not sorted by price: {prices:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn browsing_a_department_merges_its_subcategories_in_every_sort_order() {
    let app = TestApp::seeded(400).await;
    let expected = expected_ids(400, |c| c.starts_with("electronics-"));
    for sort in ["rating", "price_asc", "price_desc", "newest"] {
        let products = browse_all(&app, "electronics", sort, 10).await;
        let ids: Vec<String> = products
            .iter()
            .map(|p| p["productId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), expected.len(), "{sort}: count");
        assert_eq!(
            ids.iter().cloned().collect::<HashSet<_>>(),
            expected,
            "{sort}: membership"
        );

        let key = |p: &Value| -> (i64, i64) {
            match sort {
                "rating" => (
                    (p["rating"].as_f64().unwrap() * 10.0).round() as i64,
                    p["reviewCount"].as_i64().unwrap(),
                ),
                "price_asc" | "price_desc" => (p["price"]["amount"].as_i64().unwrap(), 0),
                _ => (0, 0),
            }
        };
        let keys: Vec<(i64, i64)> = products.iter().map(key).collect();
        let ordered = match sort {
            "price_asc" => keys.windows(2).all(|w| w[0] <= w[1]),
            _ => keys.windows(2).all(|w| w[0] >= w[1]),
        };
        assert!(ordered, "{sort}: out of order");
    }
    app.stop().await;
}

#[tokio::test]
async fn newest_first_follows_creation_time() {
    let app = TestApp::seeded(150).await;
    let products = browse_all(&app, "home-kitchen", "newest", 9).await;
    let mut created: Vec<(String, String)> = Vec::new();
    for p in &products {
        let detail = app
            .get(&format!("/products/{}", p["productId"].as_str().unwrap()))
            .await;
        created.push((
            detail.body["createdAt"].as_str().unwrap().to_owned(),
            p["productId"].as_str().unwrap().to_owned(),
        ));
    }
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    app.stop().await;
}

#[tokio::test]
async fn an_empty_category_has_one_empty_page() {
    let app = TestApp::spawn().await;
    let reply = app.get("/categories/books-fiction/products").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["products"], serde_json::json!([]));
    assert_eq!(reply.body["hasMore"], false);
    assert_eq!(reply.body["sort"], "rating");
    assert_eq!(reply.body["limit"], 24);
    app.stop().await;
}

#[tokio::test]
async fn bad_browse_parameters_are_400s_naming_the_parameter() {
    let app = TestApp::seeded(50).await;
    let cases = [
        ("/categories/electronics/products?limit=0", "limit"),
        ("/categories/electronics/products?limit=101", "limit"),
        ("/categories/electronics/products?limit=-3", "limit"),
        ("/categories/electronics/products?limit=ten", "limit"),
        ("/categories/electronics/products?limit=99999999999999999999", "limit"),
        ("/categories/electronics/products?sort=cheapest", "sort"),
        ("/categories/electronics/products?page=not-a-token", "page"),
        ("/categories/electronics/products?limit=5&limit=6", "limit"),
        ("/categories/electronics/products?colour=red", "colour"),
        ("/categories/Electronics/products", "categoryId"),
    ];
    for (path, field) in cases {
        let reply = app.get(path).await;
        reply.problem(400, "VALIDATION_FAILED");
        assert_eq!(reply.fields(), [field], "for {path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_page_token_only_works_for_the_listing_it_came_from() {
    let app = TestApp::seeded(200).await;
    let first = app.get("/categories/electronics/products?limit=2&sort=price_asc").await;
    let token = first.body["nextPage"].as_str().unwrap();

    let other_sort = app
        .get(&format!(
            "/categories/electronics/products?limit=2&sort=rating&page={token}"
        ))
        .await;
    other_sort.problem(400, "VALIDATION_FAILED");
    let other_category = app
        .get(&format!(
            "/categories/books/products?limit=2&sort=price_asc&page={token}"
        ))
        .await;
    other_category.problem(400, "VALIDATION_FAILED");
    app.stop().await;
}

#[tokio::test]
async fn browsing_an_unknown_category_is_a_404() {
    let app = TestApp::spawn().await;
    app.get("/categories/no-such-category/products")
        .await
        .problem(404, "NOT_FOUND");
    app.stop().await;
}
