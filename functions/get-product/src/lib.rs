//! `GET /products/{productId}`: one product, with how many units can be put
//! in a cart right now (`available`, `inStock`).

use shop_domain::catalog::ProductDetail;
use shop_domain::ids::ProductId;
use shop_edge::http::{self, Body, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::catalog::ProductReader;

pub async fn handle(store: &impl ProductReader, req: Request) -> Response<Body> {
    http::respond(req, |req| get_product(store, req)).await
}

shop_edge::function!(GetProduct, Request => Response<Body>, handle);

async fn get_product(store: &impl ProductReader, req: Request) -> Result<Response<Body>, ApiError> {
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "productId", ProductId::parse)?;
    let (product, stock) = store
        .product_with_stock(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("product", &id))?;
    Ok(http::json(StatusCode::OK, &ProductDetail::new(&product, &stock)))
}
