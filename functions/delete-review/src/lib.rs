//! `DELETE /admin/products/{productId}/reviews/{reviewId}` (admin group):
//! removes a review; the product's rating drops it once the rating
//! consumer hears of it. 204, or 404 when there is no such review.

use shop_domain::ids::ProductId;
use shop_domain::review::ReviewId;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::reviews::Reviews;

pub async fn handle(store: &impl Reviews, req: Request) -> Response<Body> {
    http::respond(req, |req| delete_review(store, req)).await
}

shop_edge::function!(DeleteReview, Request => Response<Body>, handle);

async fn delete_review(store: &impl Reviews, req: Request) -> Result<Response<Body>, ApiError> {
    let admin = Identity::require_admin(&req)?;
    http::only_query_params(&req, &[])?;
    let product = http::path_param(&req, "productId", ProductId::parse)?;
    let review = http::path_param(&req, "reviewId", ReviewId::parse)?;
    if !store.delete_review(&product, &review).await? {
        return Err(ApiError::not_found("review", &review));
    }
    tracing::info!(admin = %admin.user_id, product = %product, review = %review, "review deleted");
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("an empty response is valid"))
}
