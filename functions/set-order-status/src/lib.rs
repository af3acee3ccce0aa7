//! `POST /admin/orders/{orderId}/status` `{ status, trackingNumber? }`
//! (admin): records a fulfilment step, `confirmed → packed → shipped →
//! delivered`; `shipped` needs a tracking number. Anything else is 409
//! `ILLEGAL_STATUS_TRANSITION`.

use serde::Deserialize;
use shared::http::{self, Body, Identity, Request, Response, StatusCode};
use shared::order::{OrderId, OrderStatus};
use shared::problem::{ApiError, FieldError};
use shared::store::orders::{OrderReader, OrderWriter};
use shared::time::Now;

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
    let (order, history) = shared::orders::change_status(store, &id, status, input.tracking_number.as_deref()).await?;
    tracing::info!(admin = %admin.user_id, order = %id, status = %status, "fulfilment step recorded");
    Ok(http::json(StatusCode::OK, &order.detail_view(&history)))
}
