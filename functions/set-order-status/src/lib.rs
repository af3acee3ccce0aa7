//! `POST /admin/orders/{orderId}/status` `{ status, trackingNumber? }`
//! (admin): records a fulfilment step, `confirmed → packed → shipped →
//! delivered`; `shipped` needs a tracking number. Anything else is 409
//! `ILLEGAL_STATUS_TRANSITION`.

use serde::Deserialize;
use serde_json::json;
use shop_domain::order::{self, Order, OrderId, OrderStatus, StatusChange};
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::{ApiError, FieldError};
use shop_store::MAX_ATTEMPTS;
use shop_store::orders::{OrderReader, OrderWriter};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusInput {
    status: String,
    tracking_number: Option<String>,
}

pub async fn handle(store: &(impl OrderReader + OrderWriter + Now), req: Request) -> Response<Body> {
    http::respond(req, |req| set_order_status(store, req)).await
}

fn check_tracking(status: OrderStatus, tracking: Option<&str>) -> Option<FieldError> {
    let field = "trackingNumber";
    match (status, tracking) {
        (OrderStatus::Shipped, None) => Some(FieldError::new(field, "is required when the status is shipped")),
        (OrderStatus::Shipped, Some(t))
            if t.is_empty() || t.len() > 64 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Some(FieldError::new(field, "must be 1 to 64 letters, digits or dashes"))
        }
        (OrderStatus::Shipped, Some(_)) => None,
        (_, Some(_)) => Some(FieldError::new(field, "is only given with the status shipped")),
        (_, None) => None,
    }
}

async fn set_order_status(
    store: &(impl OrderReader + OrderWriter + Now),
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let admin = Identity::require_admin(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "orderId", OrderId::parse)?;
    let input: StatusInput = http::json_body(&req)?;
    let status = OrderStatus::parse(&input.status).map_err(|m| ApiError::field("status", m))?;
    if let Some(problem) = check_tracking(status, input.tracking_number.as_deref()) {
        return Err(ApiError::Validation(vec![problem]));
    }
    let (order, history) = change_status(store, &id, status, input.tracking_number.as_deref()).await?;
    tracing::info!(admin = %admin.user_id, order = %id, status = %status, "fulfilment step recorded");
    Ok(http::json(StatusCode::OK, &order.detail_view(&history)))
}

/// Records a fulfilment step (`POST /admin/orders/{orderId}/status`).
pub async fn change_status<S>(
    store: &S,
    id: &OrderId,
    to: OrderStatus,
    tracking_number: Option<&str>,
) -> Result<(Order, Vec<StatusChange>), ApiError>
where
    S: OrderReader + OrderWriter + Now,
{
    for _ in 0..MAX_ATTEMPTS {
        let (order, _) = store.order(id).await?.ok_or_else(|| ApiError::not_found("order", id))?;
        order::check_fulfilment(order.status, to, tracking_number).map_err(|e| {
            ApiError::conflict(
                "ILLEGAL_STATUS_TRANSITION",
                e.to_string(),
                json!({ "from": order.status, "to": to }),
            )
        })?;
        if store.set_status(&order, to, tracking_number, store.now()).await? {
            tracing::info!(order = %id, status = %to, "order status changed");
            return store.order(id).await?.ok_or_else(|| ApiError::not_found("order", id));
        }
    }
    Err(shop_store::StoreError::Contention { attempts: MAX_ATTEMPTS }.into())
}
