//! `PUT /admin/products/{productId}`: create or update a product (admin only).
//! A new product starts with no stock; `PUT .../stock` sets it.

use shop_domain::catalog::{ProductDetail, ProductDraft, ProductDraftInput};
use shop_domain::ids::ProductId;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::catalog::{ProductWriter, PutProductError};

pub async fn handle(store: &impl ProductWriter, req: Request) -> Response<Body> {
    http::respond(req, |req| put_product(store, req)).await
}

shop_edge::function!(PutProduct, Request => Response<Body>, handle);

async fn put_product(store: &impl ProductWriter, req: Request) -> Result<Response<Body>, ApiError> {
    let admin = Identity::require_admin(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "productId", ProductId::parse)?;
    let input: ProductDraftInput = http::json_body(&req)?;
    let draft = ProductDraft::parse(input).map_err(ApiError::Validation)?;

    let saved = store.put_product(&id, &draft).await.map_err(|e| match e {
        PutProductError::NotALeafCategory(_) => ApiError::field("categoryId", e.to_string()),
        PutProductError::Store(e) => e.into(),
    })?;
    tracing::info!(admin = %admin.user_id, product = %id, created = saved.created, version = saved.product.version, "product saved");
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(http::json(status, &ProductDetail::new(&saved.product, &saved.stock)))
}
