//! `POST /admin/orders/{orderId}/status` `{ status, trackingNumber? }`
//! (admin): records a fulfilment step, `confirmed → packed → shipped →
//! delivered`; `shipped` needs a tracking number. Anything else is 409
//! `ILLEGAL_STATUS_TRANSITION`.

use serde::Deserialize;
use serde_json::json;
use shop_domain::order::{self, Order, OrderId, OrderStatus, StatusChange, TrackingNumber};
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

shop_edge::function!(SetOrderStatus, Request => Response<Body>, handle);

/// The tracking number a status needs: one with `shipped`, none otherwise.
fn tracking_for(status: OrderStatus, tracking: Option<&str>) -> Result<Option<TrackingNumber>, FieldError> {
    let field = "trackingNumber";
    match (status, tracking) {
        (OrderStatus::Shipped, None) => Err(FieldError::new(field, "is required when the status is shipped")),
        (OrderStatus::Shipped, Some(t)) => TrackingNumber::parse(t)
            .map(Some)
            .map_err(|m| FieldError::new(field, m)),
        (_, Some(_)) => Err(FieldError::new(field, "is only given with the status shipped")),
        (_, None) => Ok(None),
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
    let tracking = tracking_for(status, input.tracking_number.as_deref()).map_err(|p| ApiError::Validation(vec![p]))?;
    let (order, history) = change_status(store, &id, status, tracking.as_ref().map(TrackingNumber::as_str)).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use shop_domain::ids::UserId;
    use shop_edge::http::Method;
    use shop_edge::testing::{TestRequest, answer, fields};
    use shop_store::fake::{FakeStore, sample_order};

    fn at() -> shop_domain::time::Timestamp {
        shop_domain::time::parse("2026-12-01T10:00:00Z").unwrap()
    }

    fn post(order: &OrderId, body: &str) -> Request {
        TestRequest::new(Method::POST, &format!("/admin/orders/{order}/status"))
            .path_param("orderId", order.as_str())
            .json(body)
            .as_admin("staff")
            .build()
    }

    fn store() -> (FakeStore, OrderId) {
        let order = sample_order(&UserId::parse("ada").unwrap(), 1, at());
        (FakeStore::at(at()).with_order(order.clone()), order.id)
    }

    #[tokio::test]
    async fn each_step_follows_the_last_and_shipping_records_the_tracking_number() {
        let (store, id) = store();
        for (body, status) in [
            (r#"{"status":"packed"}"#, "packed"),
            (r#"{"status":"shipped","trackingNumber":"1Z-999"}"#, "shipped"),
            (r#"{"status":"delivered"}"#, "delivered"),
        ] {
            let (code, answer) = answer(&handle(&store, post(&id, body)).await);
            assert_eq!((code, answer["status"].as_str()), (200, Some(status)), "{answer}");
        }
        let order = store.order_now(&id).unwrap();
        assert_eq!(order.tracking_number.as_deref(), Some("1Z-999"));
        assert_eq!(order.version, 4);
    }

    #[tokio::test]
    async fn a_skipped_step_is_409_and_changes_nothing() {
        let (store, id) = store();
        let (code, problem) = answer(&handle(&store, post(&id, r#"{"status":"delivered"}"#)).await);
        assert_eq!(
            (code, problem["code"].as_str()),
            (409, Some("ILLEGAL_STATUS_TRANSITION"))
        );
        assert_eq!(problem["from"], "confirmed");
        assert_eq!(store.order_now(&id).unwrap().version, 1);
    }

    #[tokio::test]
    async fn tracking_numbers_are_checked_before_anything_is_read() {
        let (store, id) = store();
        for body in [
            r#"{"status":"shipped"}"#,
            r#"{"status":"shipped","trackingNumber":"has space"}"#,
            r#"{"status":"packed","trackingNumber":"1Z"}"#,
        ] {
            let (code, problem) = answer(&handle(&store, post(&id, body)).await);
            assert_eq!(
                (code, fields(&problem)),
                (400, vec!["trackingNumber".to_owned()]),
                "{body}"
            );
        }
        assert_eq!(store.order_now(&id).unwrap().version, 1);
    }

    #[tokio::test]
    async fn shoppers_may_not_record_steps() {
        let (store, id) = store();
        let request = TestRequest::new(Method::POST, "/admin/orders/x/status")
            .path_param("orderId", id.as_str())
            .json(r#"{"status":"packed"}"#)
            .as_user("ada")
            .build();
        assert_eq!(answer(&handle(&store, request).await).0, 403);
    }
}
