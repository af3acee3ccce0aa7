//! `POST /orders/{orderId}/cancel`: the owner cancels before shipping; the
//! units return to stock and the charge is refunded. 409
//! `ORDER_NOT_CANCELLABLE` once shipped. Repeating it is harmless (and
//! finishes a refund that failed).

use shop_domain::order::OrderId;
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_payments::PaymentProvider;
use shop_store::orders::{OrderReader, OrderWriter};

pub async fn handle(
    store: &(impl OrderReader + OrderWriter + Now),
    payments: &impl PaymentProvider,
    req: Request,
) -> Response<Body> {
    http::respond(req, |req| cancel_order(store, payments, req)).await
}

async fn cancel_order(
    store: &(impl OrderReader + OrderWriter + Now),
    payments: &impl PaymentProvider,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "orderId", OrderId::parse)?;
    let (order, history) = shop_orders::orders::cancel_order(store, payments, &shopper.user_id, &id).await?;
    Ok(http::json(StatusCode::OK, &order.detail_view(&history)))
}
