//! `POST /cart/items` `{ productId, quantity }`: reserve units and add them to
//! the caller's cart (adding to an existing line). 201 with the line and its
//! `reservedUntil`; 409 `INSUFFICIENT_INVENTORY` with `available` when the
//! shop has too few, and nothing changes.

use serde::Deserialize;
use serde_json::json;
use shared::cart::{CartLineView, MAX_LINES_PER_CART};
use shared::http::{self, Body, Identity, Request, Response, StatusCode};
use shared::ids::ProductId;
use shared::problem::{ApiError, FieldError};
use shared::stock::{MAX_QUANTITY_PER_LINE, Quantity};
use shared::store::cart::{CartError, CartWriter};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddItemInput {
    product_id: String,
    quantity: i64,
}

pub async fn handle(store: &impl CartWriter, req: Request) -> Response<Body> {
    http::respond(req, |req| add_cart_item(store, req)).await
}

fn conflict(code: &'static str, detail: String, extra: serde_json::Value) -> ApiError {
    ApiError::Conflict {
        code,
        detail,
        extra: extra.as_object().cloned().unwrap_or_default(),
    }
}

async fn add_cart_item(store: &impl CartWriter, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    let input: AddItemInput = http::json_body(&req)?;
    let product = ProductId::parse(input.product_id).map_err(|m| FieldError::new("productId", m));
    let quantity = Quantity::parse(input.quantity).map_err(|m| FieldError::new("quantity", m));
    let (product, quantity) = match (product, quantity) {
        (Ok(p), Ok(q)) => (p, q),
        (p, q) => return Err(ApiError::Validation(p.err().into_iter().chain(q.err()).collect())),
    };

    let now = shared::time::now();
    let line = store
        .add_to_cart(&shopper.user_id, &product, quantity, now)
        .await
        .map_err(|e| match e {
            CartError::UnknownProduct(id) => ApiError::not_found("product", id),
            CartError::Insufficient(short) => conflict(
                "INSUFFICIENT_INVENTORY",
                format!("only {} of product {product} can be reserved now", short.available),
                json!({ "productId": product, "available": short.available, "requested": short.requested }),
            ),
            e @ CartError::LineLimit { in_cart } => conflict(
                "LINE_QUANTITY_LIMIT",
                e.to_string(),
                json!({ "maxPerLine": MAX_QUANTITY_PER_LINE, "inCart": in_cart }),
            ),
            e @ CartError::CartFull => conflict("CART_FULL", e.to_string(), json!({ "maxLines": MAX_LINES_PER_CART })),
            CartError::Store(e) => e.into(),
        })?;
    tracing::info!(shopper = %shopper.user_id, product = %product, quantity = line.quantity, "reserved into cart");
    Ok(http::json(StatusCode::CREATED, &CartLineView::new(&line, now)))
}
