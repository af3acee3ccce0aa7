//! `POST /products/{productId}/reviews`: a shopper who bought the product
//! writes their review of it, or replaces the one they wrote (201 when new,
//! 200 when replaced). 403 `NOT_A_BUYER` without an order of it that is not
//! cancelled (`docs/reviews.md`).

use shop_domain::ids::ProductId;
use shop_domain::review::{ReviewDraft, ReviewInput};
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::catalog::ProductReader;
use shop_store::reviews::Reviews;

pub async fn handle(store: &(impl ProductReader + Reviews), req: Request) -> Response<Body> {
    http::respond(req, |req| write_review(store, req)).await
}

shop_edge::function!(WriteReview, Request => Response<Body>, handle);

async fn write_review(store: &(impl ProductReader + Reviews), req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "productId", ProductId::parse)?;
    let input: ReviewInput = http::json_body(&req)?;
    let draft = ReviewDraft::parse(input).map_err(ApiError::Validation)?;
    if store.product_with_stock(&id).await?.is_none() {
        return Err(ApiError::not_found("product", &id));
    }
    let written = store.write_review(&shopper.user_id, &id, &draft).await?;
    tracing::info!(
        shopper = %shopper.user_id,
        product = %id,
        review = %written.review.review_id,
        created = written.created,
        "review written"
    );
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(http::json(status, &written.review.view()))
}
