//! `DELETE /cart/items/{productId}`: remove a line and release its stock. 204.

use shop_domain::ids::ProductId;
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::cart::{CartWriter, LineChange};

pub async fn handle(store: &(impl CartWriter + Now), req: Request) -> Response<Body> {
    http::respond(req, |req| remove_cart_item(store, req)).await
}

shop_edge::function!(RemoveCartItem, Request => Response<Body>, handle);

async fn remove_cart_item(store: &(impl CartWriter + Now), req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let product = http::path_param(&req, "productId", ProductId::parse)?;
    store
        .change_line(&shopper.user_id, &product, LineChange::Remove, store.now())
        .await?;
    tracing::info!(shopper = %shopper.user_id, product = %product, "cart line removed");
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("an empty response is valid"))
}
