//! `POST /cart/items` `{ productId, quantity }`: reserve units and add them to
//! the caller's cart (adding to an existing line). 201 with the line and its
//! `reservedUntil`; 409 `INSUFFICIENT_INVENTORY` with `available` when the
//! shop has too few, and nothing changes.

use serde::Deserialize;
use shop_domain::cart::CartLineView;
use shop_domain::ids::ProductId;
use shop_domain::stock::Quantity;
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::{self, ApiError, FieldError};
use shop_store::cart::{CartWriter, LineChange};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddItemInput {
    product_id: String,
    quantity: i64,
}

pub async fn handle(store: &(impl CartWriter + Now), req: Request) -> Response<Body> {
    http::respond(req, |req| add_cart_item(store, req)).await
}

shop_edge::function!(AddCartItem, Request => Response<Body>, handle);

async fn add_cart_item(store: &(impl CartWriter + Now), req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let input: AddItemInput = http::json_body(&req)?;
    let product = ProductId::parse(input.product_id).map_err(|m| FieldError::new("productId", m));
    let quantity = Quantity::parse(input.quantity).map_err(|m| FieldError::new("quantity", m));
    let (product, quantity) = problem::both_valid(product, quantity)?;

    let now = store.now();
    let line = store
        .change_line(&shopper.user_id, &product, LineChange::Add(quantity), now)
        .await?
        .ok_or_else(|| ApiError::Internal("adding left no line".into()))?;
    tracing::info!(shopper = %shopper.user_id, product = %product, quantity = line.quantity, "reserved into cart");
    Ok(http::json(StatusCode::CREATED, &CartLineView::new(&line, now)))
}
