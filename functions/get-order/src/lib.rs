//! `GET /orders/{orderId}`: one of the caller's orders with its lines,
//! totals, address and status history. Another user's order is 404.

use shop_domain::order::OrderId;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::orders::{OrderReader, own_order};

pub async fn handle(store: &impl OrderReader, req: Request) -> Response<Body> {
    http::respond(req, |req| get_order(store, req)).await
}

async fn get_order(store: &impl OrderReader, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "orderId", OrderId::parse)?;
    let (order, history) = own_order(store, &shopper.user_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("order", &id))?;
    Ok(http::json(StatusCode::OK, &order.detail_view(&history)))
}
