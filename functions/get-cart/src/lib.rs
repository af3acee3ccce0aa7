//! `GET /cart`: the caller's cart. Lines whose reservation has run out are
//! shown with `reserved: false` and left out of the subtotal.

use shop_domain::cart::CartView;
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::cart::CartReader;

pub async fn handle(store: &(impl CartReader + Now), req: Request) -> Response<Body> {
    http::respond(req, |req| get_cart(store, req)).await
}

shop_edge::function!(GetCart, Request => Response<Body>, handle);

async fn get_cart(store: &(impl CartReader + Now), req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let lines = store.cart(&shopper.user_id).await?;
    Ok(http::json(StatusCode::OK, &CartView::new(&lines, store.now())))
}
