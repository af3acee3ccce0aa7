//! `PATCH /cart/items/{productId}` `{ quantity }`: set a line's quantity,
//! reserving or releasing only the difference, and renew its reservation.

use serde::Deserialize;
use shop_domain::cart::CartLineView;
use shop_domain::ids::ProductId;
use shop_domain::stock::Quantity;
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::cart::{CartWriter, LineChange};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetQuantityInput {
    quantity: i64,
}

pub async fn handle(store: &(impl CartWriter + Now), req: Request) -> Response<Body> {
    http::respond(req, |req| update_cart_item(store, req)).await
}

shop_edge::function!(UpdateCartItem, Request => Response<Body>, handle);

async fn update_cart_item(store: &(impl CartWriter + Now), req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let product = http::path_param(&req, "productId", ProductId::parse)?;
    let input: SetQuantityInput = http::json_body(&req)?;
    let quantity = Quantity::parse(input.quantity)
        .map_err(|m| ApiError::field("quantity", format!("{m} (DELETE the line to remove it)")))?;

    let now = store.now();
    let line = store
        .change_line(&shopper.user_id, &product, LineChange::Set(quantity), now)
        .await?
        .ok_or_else(|| ApiError::Internal("setting a quantity left no line".into()))?;
    tracing::info!(shopper = %shopper.user_id, product = %product, quantity = line.quantity, "cart line changed");
    Ok(http::json(StatusCode::OK, &CartLineView::new(&line, now)))
}
