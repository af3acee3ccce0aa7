//! `GET /orders?page=&limit=`: the caller's orders, newest first, a page at
//! a time (GSI1, `USER#<userId>`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use shop_domain::order::SummaryView;
use shop_edge::http::{self, Body, DEFAULT_PAGE_LIMIT, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::orders::OrderReader;

pub async fn handle(store: &impl OrderReader, req: Request) -> Response<Body> {
    http::respond(req, |req| list_orders(store, req)).await
}

shop_edge::function!(ListOrders, Request => Response<Body>, handle);

/// A page token is the last order's index key, base64url-encoded; it only
/// ever pages within the caller's own orders.
fn decode_page(token: &str) -> Result<String, String> {
    let bad = || "is not a page token from a previous answer".to_owned();
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let key = String::from_utf8(bytes).map_err(|_| bad())?;
    shop_store::keys::order_id_of_user_order_sk(&key)
        .filter(|_| key.starts_with("ORDER#"))
        .map(|_| key)
        .ok_or_else(bad)
}

async fn list_orders(store: &impl OrderReader, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &["page", "limit"])?;
    let limit = http::query_param(&req, "limit", http::parse_limit)?.unwrap_or(DEFAULT_PAGE_LIMIT);
    let cursor = http::query_param(&req, "page", decode_page)?;
    let (orders, next) = store.orders_of(&shopper.user_id, limit, cursor.as_deref()).await?;
    Ok(http::json(
        StatusCode::OK,
        &OrdersPage {
            orders: orders.iter().map(|o| o.summary_view()).collect(),
            limit,
            has_more: next.is_some(),
            next_page: next.map(|key| URL_SAFE_NO_PAD.encode(key)),
        },
    ))
}

/// The answer: a page of the caller's orders.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrdersPage<'a> {
    orders: Vec<SummaryView<'a>>,
    limit: u32,
    has_more: bool,
    next_page: Option<String>,
}
