//! The event pipeline end to end: table stream → relay → SQS (moto) →
//! index updater → search, with the runner's event source mappings.

use crate::helpers::{TestApp, product_body, with_pipeline, within};
use crate::recommendations::{also_bought, buy};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use devstack::seed;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use shop_domain::events::CatalogEvent;
use shop_search::SearchBackend;
use std::time::Duration;

/// The one search hit for `query`, if there is exactly one.
async fn only_hit(app: &TestApp, query: &str) -> Option<Value> {
    let reply = app.get(&format!("/search?q={query}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let hits = reply.body["products"].as_array().unwrap();
    (hits.len() == 1).then(|| hits[0].clone())
}

const FRESHNESS: Duration = Duration::from_secs(5);

#[tokio::test]
async fn product_and_stock_changes_show_in_search_within_the_freshness_bound() {
    let app = with_pipeline(0).await;
    app.create_product("FRESH-1", "Walnut Desk Lamp", "home-kitchen-lighting", 3999)
        .await;
    let (hit, created) = within(FRESHNESS, "the new product is searchable", async || {
        only_hit(&app, "walnut").await
    })
    .await;
    assert_eq!(hit["inStock"], false);

    assert_eq!(app.set_stock("FRESH-1", 7).await.status, 200);
    let (_, stocked) = within(FRESHNESS, "stock shows", async || {
        only_hit(&app, "walnut")
            .await
            .filter(|h| h["available"] == 7 && h["inStock"] == true)
    })
    .await;

    let token = app.shopper();
    assert_eq!(app.add_to_cart(&token, "FRESH-1", 7).await.status, 201);
    let (_, reserved) = within(FRESHNESS, "the reservation shows", async || {
        only_hit(&app, "walnut")
            .await
            .filter(|h| h["available"] == 0 && h["inStock"] == false)
    })
    .await;

    let renamed = product_body("Walnut Floor Lamp", "home-kitchen-lighting", 4999);
    let reply = app.put("/admin/products/FRESH-1", Some(&app.admin()), &renamed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (hit, changed) = within(FRESHNESS, "the new title shows", async || only_hit(&app, "floor").await).await;
    assert_eq!(hit["price"]["amount"], 4999);
    assert!(only_hit(&app, "desk").await.is_none());
    eprintln!("freshness: created {created:?}, stocked {stocked:?}, reserved {reserved:?}, renamed {changed:?}");
    app.stop().await;
}

/// A message for the FIFO search index queue; `id` is also its deduplication id.
fn search_queue_message(id: usize, group: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id.to_string())
        .message_group_id(group)
        .message_deduplication_id(format!("test-{id}"))
        .message_body(body)
        .build()
        .unwrap()
}

fn catalog_event(product: usize, stock: bool) -> (String, String) {
    let product_id = seed::product_id(product);
    let event_id = format!("test-{product}");
    let event = if stock {
        CatalogEvent::StockChanged {
            product_id: product_id.clone(),
            event_id,
        }
    } else {
        CatalogEvent::ProductChanged {
            product_id: product_id.clone(),
            event_id,
        }
    };
    (product_id.to_string(), serde_json::to_string(&event).unwrap())
}

async fn indexed(app: &TestApp) -> u64 {
    app.stack.searcher.backend.count().await.unwrap()
}

#[tokio::test]
async fn a_poison_message_goes_to_the_dead_letter_queue_and_the_rest_of_its_batch_is_applied() {
    let app = with_pipeline(5).await;
    let sqs = app.stack.sqs.clone().unwrap();
    let queue = &app.stack.queues["SearchIndexQueue"].url;
    let dead_letters = &app.stack.queues["SearchIndexDeadLetterQueue"].url;
    // The index loses the five products; only the messages below bring them back.
    let ids = (1..=5).map(seed::product_id).collect();
    app.stack.searcher.backend.remove(ids).await.unwrap();
    assert_eq!(indexed(&app).await, 0);

    let mut entries = vec![search_queue_message(0, "poison", "{not an event")];
    for n in 1..=5 {
        let (group, body) = catalog_event(n, n % 2 == 0);
        entries.push(search_queue_message(n, &group, &body));
    }
    entries.swap(0, 2);
    sqs.send_message_batch()
        .queue_url(queue)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();

    within(Duration::from_secs(10), "the valid messages are applied", async || {
        (indexed(&app).await == 5).then_some(())
    })
    .await;
    // Five receives, a second apart, then moto moves it as SQS does.
    let (body, _) = within(
        Duration::from_secs(30),
        "the poison message is dead-lettered",
        async || {
            let received = sqs.receive_message().queue_url(dead_letters).send().await.unwrap();
            received.messages().first().and_then(|m| m.body().map(str::to_owned))
        },
    )
    .await;
    assert_eq!(body, "{not an event");
    let reply = app.get("/search?limit=100").await;
    assert_eq!(reply.body["totalCount"], 5);
    app.stop().await;
}

/// What search shows of each product, by id: (title, price, available, inStock).
async fn search_view(app: &TestApp) -> Vec<(String, Value)> {
    let reply = app.get("/search?limit=100&sort=newest").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut view: Vec<(String, Value)> = reply.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let id = p["productId"].as_str().unwrap().to_owned();
            (
                id,
                serde_json::json!([p["title"], p["price"], p["available"], p["inStock"]]),
            )
        })
        .collect();
    view.sort_by(|a, b| a.0.cmp(&b.0));
    view
}

/// The same, from the table (`GET /products/{id}` reads DynamoDB).
async fn table_view(app: &TestApp, products: usize) -> Vec<(String, Value)> {
    let mut view = Vec::new();
    for n in 1..=products {
        let id = seed::product_id(n).to_string();
        let p = app.get(&format!("/products/{id}")).await.body;
        view.push((
            id,
            serde_json::json!([p["title"], p["price"], p["available"], p["inStock"]]),
        ));
    }
    view.sort_by(|a, b| a.0.cmp(&b.0));
    view
}

#[tokio::test]
async fn the_index_converges_after_a_burst_of_changes_with_duplicated_and_reordered_deliveries() {
    const PRODUCTS: usize = 12;
    let app = with_pipeline(PRODUCTS).await;
    let sqs = app.stack.sqs.clone().unwrap();
    let queue = app.stack.queues["SearchIndexQueue"].url.clone();
    let admin = app.admin();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);

    // 120 concurrent changes: stock levels, prices and titles, reservations.
    let mut changes = Vec::new();
    for i in 0..120 {
        let n = rng.random_range(1..=PRODUCTS);
        let id = seed::product_id(n).to_string();
        let kind = rng.random_range(0..3);
        let amount = rng.random_range(100..20_000);
        let on_hand = rng.random_range(0..40);
        let category = seed::product(n).0.category_id.to_string();
        let shopper = app.stack.token(&format!("shopper-{i}"), false);
        let app = &app;
        let admin = &admin;
        changes.push(async move {
            match kind {
                0 => {
                    app.set_stock(&id, on_hand).await;
                }
                1 => {
                    let body = product_body(&format!("Burst Product {n} v{i}"), &category, amount);
                    app.put(&format!("/admin/products/{id}"), Some(admin), &body).await;
                }
                _ => {
                    app.add_to_cart(&shopper, &id, 1).await;
                }
            }
        });
    }
    // Meanwhile, stale events arrive, each twice (distinct deduplication
    // ids, so SQS delivers both), out of order.
    let mut stale: Vec<(String, String)> = (0..60)
        .flat_map(|i| {
            let event = catalog_event(rng.random_range(1..=PRODUCTS), i % 2 == 0);
            [event.clone(), event]
        })
        .collect();
    stale.shuffle(&mut rng);
    let duplicates = async {
        for (batch_number, batch) in stale.chunks(10).enumerate() {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, (group, body))| search_queue_message(1_000 + batch_number * 10 + i, group, body))
                .collect();
            sqs.send_message_batch()
                .queue_url(&queue)
                .set_entries(Some(entries))
                .send()
                .await
                .unwrap();
        }
    };
    futures::join!(futures::future::join_all(changes), duplicates);

    let expected = table_view(&app, PRODUCTS).await;
    let (_, took) = within(Duration::from_secs(20), "the index converges", async || {
        (search_view(&app).await == expected).then_some(())
    })
    .await;
    eprintln!("converged {took:?} after the burst");
    app.stop().await;
}

#[tokio::test]
async fn an_unreadable_stream_record_is_dead_lettered_and_its_neighbours_flow() {
    let app = with_pipeline(0).await;
    let sqs = app.stack.sqs.clone().unwrap();
    // An outbox item without its fields: the relay cannot turn it into an
    // event. The product created right after it is likely in the same batch.
    app.stack
        .dynamodb
        .put_item()
        .table_name(app.stack.table())
        .item("pk", AttributeValue::S("OUTBOX#broken".into()))
        .item("sk", AttributeValue::S("EVENT".into()))
        .send()
        .await
        .unwrap();
    app.create_product("AFTER-1", "Teak Bookshelf", "home-kitchen-lighting", 8999)
        .await;

    let (report, _) = within(FRESHNESS, "the record is dead-lettered", async || {
        let received = sqs
            .receive_message()
            .queue_url(&app.stack.queues["RelayDeadLetterQueue"].url)
            .send()
            .await
            .unwrap();
        received.messages().first().and_then(|m| m.body().map(str::to_owned))
    })
    .await;
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["keys"]["pk"]["S"], "OUTBOX#broken");
    assert!(report["reason"].as_str().unwrap().contains("missing field"), "{report}");
    within(FRESHNESS, "its neighbours still arrive", async || {
        only_hit(&app, "bookshelf").await
    })
    .await;
    app.stop().await;
}

/// Log lines as the functions write them in Lambda (JSON), captured from
/// everything the test's thread runs (the whole stack: `#[tokio::test]` runs
/// on one thread).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    /// The lines a worker logged on receiving a message with `correlation_id`.
    fn received(&self, correlation_id: &str) -> usize {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["message"] == "received" && line["correlation_id"] == correlation_id)
            .count()
    }
}

#[tokio::test]
async fn a_requests_correlation_id_travels_with_its_events_into_the_workers_logs() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_writer(logs.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let app = with_pipeline(0).await;
    app.create_product("CORR-1", "Correlated Kettle", "home-kitchen-lighting", 2999)
        .await;
    assert_eq!(app.set_stock("CORR-1", 5).await.status, 200);
    let token = app.shopper();

    // The reservation changes a stock shard: search and the live stock
    // channel each get a StockChanged message carrying the request's id.
    let reply = app
        .try_send(
            reqwest::Method::POST,
            "/cart/items",
            Some(&token),
            Some(r#"{"productId":"CORR-1","quantity":2}"#),
            &[("x-correlation-id", "corr-cart-1")],
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    let shards = app.stock_shards("CORR-1").await;
    assert!(
        shards
            .iter()
            .any(|s| s.get("correlationId") == Some(&AttributeValue::S("corr-cart-1".into()))),
        "the reserved shard names the request: {shards:?}"
    );
    within(Duration::from_secs(10), "both workers log the cart's id", async || {
        (logs.received("corr-cart-1") >= 2).then_some(())
    })
    .await;

    // The order's outbox event reaches the recommendations worker with the
    // checkout's id.
    let reply = app
        .try_send(
            reqwest::Method::POST,
            "/orders",
            Some(&token),
            Some(&crate::checkout::order_body(shop_payments::test_methods::VISA)),
            &[
                ("Idempotency-Key", "corr-order"),
                ("x-correlation-id", "corr-checkout-1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    within(
        Duration::from_secs(10),
        "the recommendations worker logs the checkout's id",
        async || (logs.received("corr-checkout-1") >= 1).then_some(()),
    )
    .await;
    assert_eq!(logs.received("corr-unknown"), 0);
    app.stop().await;
}

/// A burst of catalog changes, stock changes, cart holds and orders while
/// moto is killed: the runner starts it again with its queues, the relay
/// replays what the lost queues held, and search and "also bought" agree
/// with the table again, each order counted once.
/// `MOTO_KILL_SEED=<n>` replays a run's changes.
#[tokio::test]
async fn when_moto_dies_mid_burst_it_comes_back_and_search_and_also_bought_catch_up() {
    const PRODUCTS: usize = 100;
    let app = with_pipeline(PRODUCTS).await;
    let seed: u64 = std::env::var("MOTO_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("MOTO_KILL_SEED={seed} (set it to replay this run)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let admin = app.admin();
    // Products 1–4 are bought together. Before moto dies, the burst changes
    // each of 5–80 once, faster than the updater drains the queue; after,
    // only 81–100: what the lost queues held about 5–80 is never
    // superseded, only a replay brings it back.
    let bought: Vec<String> = (1..=4).map(|n| seed::product_id(n).to_string()).collect();
    for id in &bought {
        assert_eq!(app.set_stock(id, 100).await.status, 200);
    }
    let products: Vec<usize> = (5..=80)
        .chain((0..40).map(|_| rng.random_range(81..=PRODUCTS)))
        .collect();
    let changes: Vec<(usize, usize, i64, i64)> = products
        .into_iter()
        .map(|n| {
            (
                n,
                rng.random_range(0..3),
                rng.random_range(100..20_000),
                rng.random_range(0..40),
            )
        })
        .collect();
    let burst = |range: std::ops::Range<usize>| {
        let app = &app;
        let admin = &admin;
        let changes = &changes;
        futures::future::join_all(range.map(move |i| async move {
            let (n, kind, amount, on_hand) = changes[i];
            let id = seed::product_id(n).to_string();
            match kind {
                0 => {
                    app.set_stock(&id, on_hand).await;
                }
                1 => {
                    let category = seed::product(n).0.category_id.to_string();
                    let body = product_body(&format!("Burst Product {n} v{i}"), &category, amount);
                    app.put(&format!("/admin/products/{id}"), Some(admin), &body).await;
                }
                _ => {
                    let shopper = app.stack.token(&format!("burst-shopper-{i}"), false);
                    app.add_to_cart(&shopper, &id, 1).await;
                }
            }
        }))
    };
    // Orders: product 1 with 2 three times, with 3 twice, with 4 once.
    let orders = |shoppers: std::ops::Range<usize>| {
        let app = &app;
        let bought = &bought;
        futures::future::join_all(shoppers.map(move |s| async move {
            let with = &bought[[1, 1, 1, 2, 2, 3][s]];
            buy(app, &format!("moto-buyer-{s}"), &[(&bought[0], 1), (with, 1)]).await;
        }))
    };

    futures::join!(burst(0..76), orders(0..3));
    let before = app.stack.moto_pid().expect("moto runs");
    let in_flight = queued(&app, "SearchIndexQueue").await + queued(&app, "RecommendationQueue").await;
    eprintln!("killing moto ({before}) with {in_flight} messages in its queues");
    let killed = std::process::Command::new("kill")
        .args(["-9", &before.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The rest of the burst while moto is down and coming back.
    futures::join!(burst(76..116), orders(3..6));

    let (after, took) = within(Duration::from_secs(30), "moto is started again", async || {
        app.stack.moto_pid().filter(|pid| *pid != before)
    })
    .await;
    eprintln!("moto is back as {after} after {took:?}");
    let expected = table_view(&app, PRODUCTS).await;
    let (_, took) = within(
        Duration::from_secs(60),
        "search agrees with the table again",
        async || (search_view(&app).await == expected).then_some(()),
    )
    .await;
    eprintln!("search agreed {took:?} after the burst");
    let others: Vec<&str> = bought[1..].iter().map(String::as_str).collect();
    let started = std::time::Instant::now();
    also_bought(&app, &bought[0], &others).await;
    eprintln!("also bought agreed {:?} after search", started.elapsed());
    // "Also bought" lists a product once one order counts it; the replayed
    // orders may still be on their way. Each must count once: never more,
    // and, once the queues are drained, exactly once.
    let expected_counts = [Some(3), Some(2), Some(1)];
    let (_, took) = within(Duration::from_secs(60), "every order counted", async || {
        let counts = pair_counts(&app, &bought).await;
        for (count, most) in counts.iter().zip(expected_counts) {
            assert!(
                count <= &most,
                "an order counted twice: {counts:?}, expected {expected_counts:?}"
            );
        }
        (counts == expected_counts).then_some(())
    })
    .await;
    eprintln!("every order counted {took:?} after also bought agreed");
    within(Duration::from_secs(60), "the queues drain", async || {
        (queued(&app, "RecommendationQueue").await == 0).then_some(())
    })
    .await;
    assert_eq!(
        pair_counts(&app, &bought).await,
        expected_counts,
        "each order counted once, replayed or not"
    );
    app.stop().await;
}

/// How many orders counted `bought[0]` with each of `bought[1..]` ("also bought").
async fn pair_counts(app: &TestApp, bought: &[String]) -> [Option<i64>; 3] {
    let items = app.snapshot().await;
    let count = |with: &str| {
        let pair = items.iter().find(|i| {
            i.get("pk").and_then(|v| v.as_s().ok()) == Some(&format!("ALSO#{}", bought[0]))
                && i.get("sk").and_then(|v| v.as_s().ok()) == Some(&format!("WITH#{with}"))
        });
        pair.map(|p| crate::helpers::number(p, "count"))
    };
    [count(&bought[1]), count(&bought[2]), count(&bought[3])]
}

/// Messages waiting or in flight in a queue.
pub(crate) async fn queued(app: &TestApp, queue: &str) -> u64 {
    let answer = app
        .stack
        .sqs
        .as_ref()
        .unwrap()
        .get_queue_attributes()
        .queue_url(&app.stack.queues[queue].url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    answer
        .attributes()
        .unwrap()
        .values()
        .map(|count| count.parse::<u64>().unwrap())
        .sum()
}
