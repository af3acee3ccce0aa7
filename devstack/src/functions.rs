//! The runner's table of functions: each binary named in template.yaml maps to
//! the same handler its Lambda `main.rs` runs, with its own configuration
//! resolved from the template.

use futures::future::BoxFuture;
use shop_domain::time::{Clock, Now};
use shop_edge::config::Config;
use shop_edge::http::{Body, Request, Response};
use shop_live::ApiGatewayNotifier;
use shop_payments::{PaymentSettings, Payments};
use shop_search::Searcher;
use shop_search::tantivy::TantivyBackend;
use shop_store::DynamoStore;
use std::sync::Arc;

/// A function as the gateway calls it.
pub type Handler = Arc<dyn Fn(Request) -> BoxFuture<'static, Response<Body>> + Send + Sync>;

/// Wraps `handle(&store, request)` so the gateway can call it.
macro_rules! with_store {
    ($store:expr, $handle:path) => {{
        let store = Arc::new($store);
        Arc::new(move |req: Request| {
            let store = Arc::clone(&store);
            Box::pin(async move { $handle(&*store, req).await }) as BoxFuture<'static, Response<Body>>
        }) as Handler
    }};
}

/// Wraps `handle(&store, &dependency, request)`: a function that moves money
/// gets the provider its configuration names; search gets the index.
macro_rules! with_store_and {
    ($store:expr, $dependency:expr, $handle:path) => {{
        let deps = Arc::new(($store, $dependency));
        Arc::new(move |req: Request| {
            let deps = Arc::clone(&deps);
            Box::pin(async move { $handle(&deps.0, &deps.1, req).await }) as BoxFuture<'static, Response<Body>>
        }) as Handler
    }};
}

/// A scheduled function as the runner's timer calls it.
pub type Job = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// The store a function of the runner uses: its table, on the runner's clock.
pub fn store(config: &Config, dynamodb: &aws_sdk_dynamodb::Client, clock: &Clock) -> DynamoStore {
    DynamoStore::new(dynamodb.clone(), config.table_name.clone()).with_clock(clock.clone())
}

/// The scheduled job of `binary`, or `None` if the runner does not know it.
pub fn scheduled_job(binary: &str, store: DynamoStore, payments: &PaymentSettings) -> Option<Job> {
    let deps = Arc::new((Payments::new(payments, &store), store));
    let job = |run: fn(Arc<(Payments, DynamoStore)>) -> BoxFuture<'static, ()>| {
        let deps = Arc::clone(&deps);
        Arc::new(move || run(Arc::clone(&deps))) as Job
    };
    match binary {
        "sweep-reservations" => Some(job(|deps| {
            Box::pin(async move {
                sweep_reservations::sweep(&deps.1, deps.1.now()).await;
            })
        })),
        "reconcile-payments" => Some(job(|deps| {
            Box::pin(async move {
                if let Err(error) = reconcile_payments::run(&deps.1, &deps.0, deps.1.now()).await {
                    tracing::warn!(%error, "the payment reconciler failed; it runs again on its schedule");
                }
            })
        })),
        "audit-ledger" => Some(job(|deps| {
            Box::pin(async move {
                if let Err(error) = audit_ledger::run(&deps.1, &deps.0, deps.1.now()).await {
                    tracing::warn!(%error, "the ledger audit failed; it runs again on its schedule");
                }
            })
        })),
        _ => None,
    }
}

/// The queue-triggered worker `binary`, or `None` if the runner does not know it.
pub fn queue_worker(
    binary: &str,
    store: DynamoStore,
    searcher: &Arc<Searcher<TantivyBackend>>,
    notifier: &ApiGatewayNotifier,
) -> Option<crate::pipeline::QueueWorker> {
    let deps = Arc::new((store, Arc::clone(searcher), notifier.clone()));
    match binary {
        "push-stock" => Some(Arc::new(move |event| {
            let deps = Arc::clone(&deps);
            Box::pin(async move { push_stock::handle(&deps.0, &deps.2, event).await }) as BoxFuture<'static, _>
        })),
        "update-search-index" => Some(Arc::new(move |event| {
            let deps = Arc::clone(&deps);
            Box::pin(async move { update_search_index::handle(&deps.0, &deps.1.backend, event).await })
                as BoxFuture<'static, _>
        })),
        "update-recommendations" => Some(Arc::new(move |event| {
            let deps = Arc::clone(&deps);
            Box::pin(async move { update_recommendations::handle(&deps.0, event).await }) as BoxFuture<'static, _>
        })),
        _ => None,
    }
}

/// The WebSocket route function `binary`, or `None` if the runner does not know it.
pub fn socket_handler(binary: &str, store: DynamoStore) -> Option<crate::live::SocketHandler> {
    let store = Arc::new(store);
    match binary {
        "live-socket" => Some(Arc::new(move |event| {
            let store = Arc::clone(&store);
            Box::pin(async move { live_socket::handle(store.as_ref(), event).await }) as BoxFuture<'static, _>
        })),
        _ => None,
    }
}

/// The stream-triggered worker `binary`, or `None` if the runner does not know it.
pub fn stream_worker(
    binary: &str,
    config: &Config,
    sqs: &aws_sdk_sqs::Client,
) -> Option<anyhow::Result<crate::pipeline::StreamWorker>> {
    match binary {
        "relay-events" => Some(
            relay_events::publisher(config, sqs.clone())
                .map_err(Into::into)
                .map(|publisher| {
                    let publisher = Arc::new(publisher);
                    Arc::new(move |event| {
                        let publisher = Arc::clone(&publisher);
                        Box::pin(async move { relay_events::handle(&*publisher, event).await }) as BoxFuture<'static, _>
                    }) as crate::pipeline::StreamWorker
                }),
        ),
        _ => None,
    }
}

/// The handler of `binary`, or `None` if the runner does not know it.
pub fn handler(
    binary: &str,
    store: DynamoStore,
    settings: &PaymentSettings,
    searcher: &Arc<Searcher<TantivyBackend>>,
) -> Option<Handler> {
    let payments = || Payments::new(settings, &store);
    Some(match binary {
        "search" => with_store_and!(store.clone(), Arc::clone(searcher), search::handle),
        "place-order" => with_store_and!(store.clone(), payments(), place_order::handle),
        "cancel-order" => with_store_and!(store.clone(), payments(), cancel_order::handle),
        "list-orders" => with_store!(store, list_orders::handle),
        "get-order" => with_store!(store, get_order::handle),
        "set-order-status" => with_store!(store, set_order_status::handle),
        "get-product" => with_store!(store, get_product::handle),
        "get-recommendations" => with_store!(store, get_recommendations::handle),
        "list-categories" => with_store!(store, list_categories::handle),
        "browse-category" => with_store!(store, browse_category::handle),
        "put-product" => with_store!(store, put_product::handle),
        "put-stock" => with_store!(store, put_stock::handle),
        "get-cart" => with_store!(store, get_cart::handle),
        "add-cart-item" => with_store!(store, add_cart_item::handle),
        "update-cart-item" => with_store!(store, update_cart_item::handle),
        "remove-cart-item" => with_store!(store, remove_cart_item::handle),
        _ => return None,
    })
}
