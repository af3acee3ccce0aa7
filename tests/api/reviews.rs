//! Reviews: only buyers write them, once per product; helpful votes count
//! once per shopper; the product's rating follows through the stream →
//! relay → `RatingQueue` → `update-ratings`, each change counted once.

use crate::helpers::{Reply, TestApp, number, with_pipeline, within};
use crate::recommendations::{CATEGORY, buy};
use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use serde_json::{Value, json};
use shop_domain::review::{Histogram, Stars};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

fn review(rating: i64, title: &str) -> String {
    json!({ "rating": rating, "title": title, "body": "Sturdy and fun; we play it every week." }).to_string()
}

async fn write(app: &TestApp, token: &str, product: &str, body: &str) -> Reply {
    app.post(&format!("/products/{product}/reviews"), Some(token), body)
        .await
}

async fn vote(app: &TestApp, token: Option<&str>, product: &str, review: &str) -> Reply {
    app.send(
        Method::POST,
        &format!("/products/{product}/reviews/{review}/helpful"),
        token,
        None,
    )
    .await
}

async fn page(app: &TestApp, product: &str, query: &str) -> Value {
    let reply = app.get(&format!("/products/{product}/reviews{query}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn ids(page: &Value) -> Vec<String> {
    page["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reviewId"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the product (detail and reviews page) shows this rating.
async fn rated(app: &TestApp, product: &str, rating: f64, count: u64) {
    within(Duration::from_secs(15), "the rating is counted", async || {
        let detail = app.get(&format!("/products/{product}")).await.body;
        let reviews = page(app, product, "").await;
        (detail["rating"] == json!(rating)
            && detail["reviewCount"] == json!(count)
            && reviews["rating"] == json!(rating)
            && reviews["reviewCount"] == json!(count))
        .then_some(())
    })
    .await;
}

async fn cancel(app: &TestApp, token: &str, order: &str) {
    let reply = app.post(&format!("/orders/{order}/cancel"), Some(token), "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_buyer_reviews_once_others_are_refused_and_the_rating_counts_each_change_once() {
    let app = with_pipeline(0).await;
    for id in ["A", "B"] {
        app.create_product(id, "Chess Set", CATEGORY, 1500).await;
        assert_eq!(app.set_stock(id, 50).await.status, 200);
    }
    let (ann, bob, cat, dan) = (
        app.stack.token("ann", false),
        app.stack.token("bob", false),
        app.stack.token("cat", false),
        app.stack.token("dan", false),
    );
    buy(&app, "ann", &[("A", 1)]).await;
    let cats = buy(&app, "cat", &[("A", 1)]).await;
    cancel(&app, &cat, &cats).await;

    // Not bought, bought but cancelled, bought something else: refused.
    for (token, product) in [(&bob, "A"), (&cat, "A"), (&ann, "B")] {
        let reply = write(&app, token, product, &review(5, "Great")).await;
        assert_eq!(reply.problem(403, "NOT_A_BUYER")["productId"], product);
    }
    // Bad input changes nothing.
    let long_title = "t".repeat(151);
    let long_body = "b".repeat(5001);
    for (body, fields) in [
        (review(0, "Zero"), vec!["rating"]),
        (review(6, "Six"), vec!["rating"]),
        (review(-1, ""), vec!["rating", "title"]),
        (
            json!({ "rating": 4, "title": long_title, "body": long_body }).to_string(),
            vec!["title", "body"],
        ),
        (
            json!({ "rating": 4, "title": "Fine", "body": "  " }).to_string(),
            vec!["body"],
        ),
        (
            json!({ "rating": "5", "title": "Fine", "body": "Fine" }).to_string(),
            vec!["rating"],
        ),
        (
            json!({ "rating": 4.5, "title": "Fine", "body": "Fine" }).to_string(),
            vec!["rating"],
        ),
        (json!({ "title": "Fine", "body": "Fine" }).to_string(), vec!["rating"]),
        (
            json!({ "rating": 4, "title": "Fine", "body": "Fine", "stars": 5 }).to_string(),
            vec!["stars"],
        ),
    ] {
        let reply = write(&app, &ann, "A", &body).await;
        reply.problem(400, "VALIDATION_FAILED");
        assert_eq!(reply.fields(), fields, "{body}");
    }
    write(&app, &ann, "A", "{\"rating\": 4,")
        .await
        .problem(400, "MALFORMED_JSON");
    let huge = json!({ "rating": 4, "title": "Fine", "body": "x".repeat(70_000) }).to_string();
    write(&app, &ann, "A", &huge).await.problem(413, "PAYLOAD_TOO_LARGE");
    write(&app, &ann, "NOPE", &review(4, "Fine"))
        .await
        .problem(404, "NOT_FOUND");
    app.post("/products/A/reviews", None, &review(4, "Fine"))
        .await
        .problem(401, "UNAUTHORIZED");
    let empty = page(&app, "A", "").await;
    assert_eq!((empty["reviewCount"].clone(), ids(&empty).len()), (json!(0), 0));

    // Written, then replaced: one review, the latest stars.
    let first = write(&app, &ann, "A", &review(2, "Meh")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let anns = first.body["reviewId"].as_str().unwrap().to_owned();
    assert_eq!(first.body["verifiedPurchase"], true);
    let edited = write(&app, &ann, "A", &review(5, "Grew on us")).await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.body["reviewId"], anns.as_str());
    rated(&app, "A", 5.0, 1).await;

    buy(&app, "dan", &[("A", 1)]).await;
    let dans = write(&app, &dan, "A", &review(3, "Fine")).await.body["reviewId"]
        .as_str()
        .unwrap()
        .to_owned();
    rated(&app, "A", 4.0, 2).await;
    let body = page(&app, "A", "").await;
    assert_eq!(body["histogram"], json!({ "1": 0, "2": 0, "3": 1, "4": 0, "5": 1 }));
    assert_eq!(ids(&body), [dans.clone(), anns.clone()], "newest first");

    // Helpful votes: once per shopper, never one's own.
    let counted = vote(&app, Some(&bob), "A", &anns).await;
    assert_eq!(
        (
            counted.status.as_u16(),
            &counted.body["helpful"],
            &counted.body["counted"]
        ),
        (200, &json!(1), &json!(true))
    );
    let again = vote(&app, Some(&bob), "A", &anns).await;
    assert_eq!(
        (&again.body["helpful"], &again.body["counted"]),
        (&json!(1), &json!(false))
    );
    vote(&app, Some(&ann), "A", &anns).await.problem(403, "OWN_REVIEW");
    vote(&app, Some(&bob), "A", "rev_01J00000000000000000000000")
        .await
        .problem(404, "NOT_FOUND");
    vote(&app, Some(&bob), "A", "nope")
        .await
        .problem(400, "VALIDATION_FAILED");
    vote(&app, None, "A", &anns).await.problem(401, "UNAUTHORIZED");
    assert_eq!(
        ids(&page(&app, "A", "?sort=helpful").await),
        [anns.clone(), dans.clone()]
    );

    // Pages of one, in either order, end without a cursor.
    for (sort, expected) in [("newest", [&dans, &anns]), ("helpful", [&anns, &dans])] {
        let first = page(&app, "A", &format!("?sort={sort}&limit=1")).await;
        assert_eq!(ids(&first), [expected[0].clone()]);
        let cursor = first["nextCursor"].as_str().unwrap();
        let second = page(&app, "A", &format!("?sort={sort}&limit=1&cursor={cursor}")).await;
        assert_eq!(ids(&second), [expected[1].clone()]);
        assert!(second.get("nextCursor").is_none(), "{second}");
    }
    for query in [
        "?sort=stars",
        "?limit=0",
        "?limit=51",
        "?cursor=bogus",
        "?sort=helpful&cursor=x",
        "?page=2",
    ] {
        let reply = app.get(&format!("/products/A/reviews{query}")).await;
        reply.problem(400, "VALIDATION_FAILED");
    }
    app.get("/products/NOPE/reviews").await.problem(404, "NOT_FOUND");

    // A rating event delivered again and again counts once (here, a made-up
    // one-star rating and then its removal, each sent three times).
    let sqs = app.stack.sqs.clone().unwrap();
    for (event_id, before, after) in [
        ("replayed-1", Value::Null, json!(1)),
        ("replayed-2", json!(1), Value::Null),
    ] {
        let event = json!({ "type": "ReviewRated", "eventId": event_id, "productId": "A", "reviewId": anns,
                            "before": before, "after": after });
        for _ in 0..3 {
            sqs.send_message()
                .queue_url(&app.stack.queues["RatingQueue"].url)
                .message_body(event.to_string())
                .send()
                .await
                .unwrap();
        }
        if event_id == "replayed-1" {
            rated(&app, "A", 3.0, 3).await;
        }
    }
    rated(&app, "A", 4.0, 2).await;

    // Staff delete a review; the rating drops it.
    let path = format!("/admin/products/A/reviews/{dans}");
    let refused = app.send(Method::DELETE, &path, Some(&bob), None).await;
    refused.problem(403, "FORBIDDEN");
    let admin = app.admin();
    assert_eq!(app.send(Method::DELETE, &path, Some(&admin), None).await.status, 204);
    app.send(Method::DELETE, &path, Some(&admin), None)
        .await
        .problem(404, "NOT_FOUND");
    rated(&app, "A", 5.0, 1).await;
    // Browse shows the counted rating too.
    let browse = app.get(&format!("/categories/{CATEGORY}/products?sort=rating")).await;
    let listed = browse.body["products"].as_array().unwrap();
    assert_eq!(
        (listed[0]["productId"].clone(), listed[0]["rating"].clone()),
        (json!("A"), json!(5.0))
    );
    // Dan may write again: a new review.
    assert_eq!(write(&app, &dan, "A", &review(4, "Again")).await.status, 201);
    app.stop().await;
}

fn s<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("")
}

/// Shoppers write, rewrite and vote on the same reviews at once, staff
/// delete some, and one shopper's order is cancelled midway. Afterwards,
/// over the whole table: one review per shopper and product, each author
/// marker matching its review, every helpful count equal to its votes, and
/// each product's histogram, rating and count equal to its reviews'.
/// `REVIEWS_SEED=<n>` replays a run's choices (not their interleaving).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_writes_votes_and_deletes_leave_counts_that_match_the_reviews() {
    use rand::{Rng, SeedableRng};
    let seed: u64 = std::env::var("REVIEWS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("REVIEWS_SEED={seed} (set it to replay this run's choices)");
    let app = with_pipeline(0).await;
    let products = ["R1", "R2"];
    for id in products {
        app.create_product(id, "Puzzle", CATEGORY, 900).await;
        assert_eq!(app.set_stock(id, 100).await.status, 200);
    }
    let shoppers: Vec<String> = (0..8).map(|i| format!("shopper{i}")).collect();
    let mut orders = Vec::new();
    for shopper in &shoppers {
        orders.push(buy(&app, shopper, &[("R1", 1), ("R2", 1)]).await);
    }
    let admin = app.admin();
    let app = &app;
    let workers = (0..6u64).map(|worker| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ worker);
        let shoppers = &shoppers;
        let orders = &orders;
        let admin = &admin;
        async move {
            for step in 0..40 {
                let product = products[rng.random_range(0..products.len())];
                let who = rng.random_range(0..shoppers.len());
                let token = app.stack.token(&shoppers[who], false);
                if worker == 0 && step == 20 {
                    // Their order is cancelled: their next writes are refused.
                    cancel(app, &token, &orders[who]).await;
                }
                match rng.random_range(0..10) {
                    0..=4 => {
                        let reply = write(app, &token, product, &review(rng.random_range(1..=5), "Mixed")).await;
                        assert!([200, 201, 403].contains(&reply.status.as_u16()), "{}", reply.body);
                    }
                    5..=7 => {
                        let listed = ids(&page(app, product, "?limit=50").await);
                        if let Some(id) = listed.get(rng.random_range(0..listed.len().max(1))) {
                            let reply = vote(app, Some(&token), product, id).await;
                            assert!([200, 403, 404].contains(&reply.status.as_u16()), "{}", reply.body);
                        }
                    }
                    8 => {
                        let listed = ids(&page(app, product, "?limit=50").await);
                        if let Some(id) = listed.first() {
                            let path = format!("/admin/products/{product}/reviews/{id}");
                            let reply = app.send(Method::DELETE, &path, Some(admin), None).await;
                            assert!([204, 404].contains(&reply.status.as_u16()), "{}", reply.body);
                        }
                    }
                    _ => {}
                }
            }
        }
    });
    futures::future::join_all(workers).await;

    let (reviews, _) = within(Duration::from_secs(30), "every rating is counted", async || {
        let table = app.snapshot().await;
        let reviews = check_reviews(&table);
        let counted = products.iter().all(|p| {
            let summary = table
                .iter()
                .find(|i| s(i, "pk") == format!("REVIEWS#{p}") && s(i, "sk") == "SUMMARY");
            let counts: Vec<i64> = (1..=5)
                .map(|n| summary.map_or(0, |i| number(i, &format!("r{n}"))))
                .collect();
            counts == reviews.get(*p).map(|h| h.0.to_vec()).unwrap_or(vec![0; 5])
        });
        counted.then_some(reviews)
    })
    .await;
    for product in products {
        let histogram = reviews.get(product).copied().unwrap_or_default();
        let detail = app.get(&format!("/products/{product}")).await.body;
        assert_eq!(detail["reviewCount"], json!(histogram.count()), "{product}");
        assert_eq!(
            detail["rating"],
            json!(f64::from(histogram.average().tenths()) / 10.0),
            "{product}"
        );
    }
    app.assert_ledger_adds_up().await;
}

/// The table's review items agree with each other; answers each product's
/// histogram of its stored reviews.
fn check_reviews(table: &[Item]) -> BTreeMap<String, Histogram> {
    let in_reviews = |i: &&Item| s(i, "pk").starts_with("REVIEWS#");
    let mut histograms: BTreeMap<String, Histogram> = BTreeMap::new();
    let mut authors = BTreeSet::new();
    let reviews: Vec<&Item> = table
        .iter()
        .filter(in_reviews)
        .filter(|i| s(i, "sk").starts_with("REVIEW#"))
        .collect();
    for review in &reviews {
        let product = s(review, "productId").to_owned();
        assert!(
            authors.insert((product.clone(), s(review, "userId").to_owned())),
            "two reviews by one shopper"
        );
        let stars = Stars::new(number(review, "rating")).unwrap();
        histograms.entry(product).or_default().apply(None, Some(stars));
        let votes = table
            .iter()
            .filter(in_reviews)
            .filter(|i| s(i, "sk").starts_with(&format!("VOTE#{}#", s(review, "reviewId"))))
            .count();
        assert_eq!(
            number(review, "helpful"),
            votes as i64,
            "helpful votes of {}",
            s(review, "reviewId")
        );
        assert_eq!(s(review, "gsi1sk"), format!("{votes:010}#{}", s(review, "reviewId")));
    }
    let markers: Vec<&Item> = table
        .iter()
        .filter(in_reviews)
        .filter(|i| s(i, "sk").starts_with("BY#"))
        .collect();
    assert_eq!(markers.len(), reviews.len(), "one author marker per review");
    for marker in markers {
        let review = reviews
            .iter()
            .find(|r| s(r, "reviewId") == s(marker, "reviewId"))
            .expect("the marker's review exists");
        assert_eq!(format!("BY#{}", s(review, "userId")), s(marker, "sk"));
    }
    histograms
}
