//! The runner's registry of functions: each binary named in template.yaml
//! maps to the type its Lambda `main.rs` serves (`shop_edge::function`).
//! The runner builds it with the same `init`, from the function's
//! environment in template.yaml, and calls the same `handle`.

use futures::future::BoxFuture;
use shop_edge::function::{Cors, Error, Function, Init};
use shop_edge::http::{Body, Request, Response};
use std::sync::Arc;

/// A function as the gateway calls it.
pub type Handler = Arc<dyn Fn(Request) -> BoxFuture<'static, Response<Body>> + Send + Sync>;
/// A function as the gateway calls it with API Gateway's own event (the
/// Lambda rehearsal).
pub type EventHandler = Arc<
    dyn Fn(
            aws_lambda_events::apigw::ApiGatewayProxyRequest,
        ) -> BoxFuture<'static, aws_lambda_events::apigw::ApiGatewayProxyResponse>
        + Send
        + Sync,
>;
/// A scheduled function as the runner's timer calls it.
pub type Job = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// A built function, by the way the runner invokes it.
pub enum Built {
    Http(Handler),
    HttpEvent(EventHandler),
    Socket(crate::live::SocketHandler),
    Queue(crate::pipeline::QueueWorker),
    Stream(crate::pipeline::StreamWorker),
    Job(Job),
    /// Invoked by CloudFormation when a stack deploys (`reindex-search`):
    /// the runner builds its own index at start-up instead, and `devstack
    /// reindex` runs the same function against a deployed table.
    Deploy,
}

/// Builds the function `binary` names, or `None` if the runner does not
/// know it.
pub async fn build(binary: &str, init: &Init<'_>) -> Option<Result<Built, Error>> {
    Some(match binary {
        "add-cart-item" => http::<add_cart_item::AddCartItem>(init).await,
        "browse-category" => http::<browse_category::BrowseCategory>(init).await,
        "cancel-order" => http::<cancel_order::CancelOrder>(init).await,
        "delete-review" => http::<delete_review::DeleteReview>(init).await,
        "get-cart" => http::<get_cart::GetCart>(init).await,
        "get-order" => http::<get_order::GetOrder>(init).await,
        "get-product" => http::<get_product::GetProduct>(init).await,
        "get-recommendations" => http::<get_recommendations::GetRecommendations>(init).await,
        "list-categories" => http::<list_categories::ListCategories>(init).await,
        "list-orders" => http::<list_orders::ListOrders>(init).await,
        "list-reviews" => http::<list_reviews::ListReviews>(init).await,
        "place-order" => http::<place_order::Checkout>(init).await,
        "put-category" => http::<put_category::PutCategory>(init).await,
        "put-product" => http::<put_product::PutProduct>(init).await,
        "put-stock" => http::<put_stock::PutStock>(init).await,
        "remove-cart-item" => http::<remove_cart_item::RemoveCartItem>(init).await,
        "search" => http::<search::Search>(init).await,
        "search-suggest" => http::<search_suggest::SearchSuggest>(init).await,
        "set-order-status" => http::<set_order_status::SetOrderStatus>(init).await,
        "update-cart-item" => http::<update_cart_item::UpdateCartItem>(init).await,
        "vote-review" => http::<vote_review::VoteReview>(init).await,
        "write-review" => http::<write_review::WriteReview>(init).await,
        "live-socket" => socket::<live_socket::LiveSocket>(init).await,
        "push-stock" => queue::<push_stock::PushStock>(init).await,
        "push-order-status" => queue::<push_order_status::PushOrderStatus>(init).await,
        "update-ratings" => queue::<update_ratings::UpdateRatings>(init).await,
        "send-order-email" => queue::<send_order_email::SendOrderEmail>(init).await,
        "update-recommendations" => queue::<update_recommendations::UpdateRecommendations>(init).await,
        "update-search-index" => queue::<update_search_index::UpdateSearchIndex>(init).await,
        "relay-events" => stream::<relay_events::RelayEvents>(init).await,
        "audit-ledger" => job::<audit_ledger::AuditLedger>(binary, init).await,
        "reconcile-payments" => job::<reconcile_payments::ReconcilePayments>(binary, init).await,
        "sweep-reservations" => job::<sweep_reservations::SweepReservations>(binary, init).await,
        "reindex-search" => Ok(Built::Deploy),
        _ => return None,
    })
}

/// `F`, built once and shared by every call, as `Fn(event) -> future`.
async fn instance<F: Function>(
    init: &Init<'_>,
) -> Result<impl Fn(F::Event) -> BoxFuture<'static, F::Output> + Send + Sync + 'static, Error> {
    let function = Arc::new(F::init(init).await?);
    Ok(move |event| {
        let function = Arc::clone(&function);
        Box::pin(async move { function.handle(event).await }) as BoxFuture<'static, _>
    })
}

/// [`instance`] for a function that is not HTTP: each call is an invocation
/// with its own correlation id, as `shop_edge::lambda` runs it in Lambda
/// (an HTTP request sets its own, from the request).
async fn invocations<F: Function>(
    init: &Init<'_>,
) -> Result<impl Fn(F::Event) -> BoxFuture<'static, F::Output> + Send + Sync + 'static, Error> {
    let call = instance::<F>(init).await?;
    Ok(move |event| {
        let id = ulid::Ulid::new().to_string();
        Box::pin(shop_edge::logging::invocation(id, call(event))) as BoxFuture<'static, _>
    })
}

/// As `shop_edge::lambda::serve_http` serves it: its answers may be read by
/// the storefront's origin.
async fn http<F: Function<Event = Request, Output = Response<Body>>>(init: &Init<'_>) -> Result<Built, Error> {
    Ok(Built::Http(Arc::new(instance::<Cors<F>>(init).await?)))
}

async fn socket<F>(init: &Init<'_>) -> Result<Built, Error>
where
    F: Function<
            Event = aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest,
            Output = aws_lambda_events::apigw::ApiGatewayProxyResponse,
        >,
{
    Ok(Built::Socket(Arc::new(invocations::<F>(init).await?)))
}

async fn queue<F>(init: &Init<'_>) -> Result<Built, Error>
where
    F: Function<Event = aws_lambda_events::sqs::SqsEvent, Output = aws_lambda_events::sqs::SqsBatchResponse>,
{
    Ok(Built::Queue(Arc::new(invocations::<F>(init).await?)))
}

async fn stream<F>(init: &Init<'_>) -> Result<Built, Error>
where
    F: Function<Event = aws_lambda_events::dynamodb::Event, Output = aws_lambda_events::streams::DynamoDbEventResponse>,
{
    Ok(Built::Stream(Arc::new(invocations::<F>(init).await?)))
}

/// A job's failure is logged; it runs again on its schedule (Lambda
/// counts it in the function's `Errors` metric).
async fn job<F: Function<Event = (), Output = Result<(), Error>>>(
    binary: &str,
    init: &Init<'_>,
) -> Result<Built, Error> {
    let run = invocations::<F>(init).await?;
    let binary = binary.to_owned();
    Ok(Built::Job(Arc::new(move || {
        let run = run(());
        let binary = binary.clone();
        Box::pin(async move {
            if let Err(error) = run.await {
                tracing::warn!(function = %binary, %error, "the job failed; it runs again on its schedule");
            }
        })
    })))
}
