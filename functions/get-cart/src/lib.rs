//! `GET /cart`: the caller's cart. Lines whose reservation has run out are
//! shown with `reserved: false` and left out of the subtotal.

use shared::cart::CartView;
use shared::http::{self, Body, Identity, Request, Response, StatusCode};
use shared::problem::ApiError;
use shared::store::cart::CartReader;
use shared::time::Now;

pub async fn handle(store: &(impl CartReader + Now), req: Request) -> Response<Body> {
    http::respond(req, |req| get_cart(store, req)).await
}

async fn get_cart(store: &(impl CartReader + Now), req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let lines = store.cart(&shopper.user_id).await?;
    Ok(http::json(StatusCode::OK, &CartView::new(&lines, store.now())))
}
