//! `POST /orders/{orderId}/cancel`: the owner cancels before shipping; the
//! units return to stock and the charge is refunded. 409
//! `ORDER_NOT_CANCELLABLE` once shipped. Repeating it is harmless (and
//! finishes a refund that failed).

use serde_json::json;
use shop_domain::order::OrderId;
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_orders::orders::OrderError;
use shop_payments::PaymentProvider;
use shop_payments::Payments;
use shop_store::orders::{OrderReader, OrderWriter};

pub async fn handle(
    store: &(impl OrderReader + OrderWriter + Now),
    payments: &impl PaymentProvider,
    req: Request,
) -> Response<Body> {
    http::respond(req, |req| cancel_order(store, payments, req)).await
}

shop_edge::function!(CancelOrder, Request => Response<Body>, handle, Payments = |init| Payments::load(init.env, init.sdk, init.store).await?);

async fn cancel_order(
    store: &(impl OrderReader + OrderWriter + Now),
    payments: &impl PaymentProvider,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "orderId", OrderId::parse)?;
    let (order, history) = shop_orders::orders::cancel_order(store, payments, &shopper.user_id, &id)
        .await
        .map_err(problem)?;
    Ok(http::json(StatusCode::OK, &order.detail_view(&history)))
}

/// The HTTP answer for each way a cancel can fail.
fn problem(error: OrderError) -> ApiError {
    match error {
        OrderError::NotFound(id) => ApiError::not_found("order", id),
        OrderError::NotCancellable(status) => ApiError::conflict(
            "ORDER_NOT_CANCELLABLE",
            error.to_string(),
            json!({ "orderStatus": status }),
        ),
        OrderError::RefundPending(_) => ApiError::Unavailable {
            detail: "the order is cancelled but the refund did not go through yet; it is retried \
                     automatically, or repeat the cancel request"
                .into(),
            retry_after_secs: 5,
        },
        OrderError::Refund { .. } => ApiError::Internal(error.to_string()),
        OrderError::Store(e) => e.into(),
    }
}
