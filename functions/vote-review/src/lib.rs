//! `POST /products/{productId}/reviews/{reviewId}/helpful`: the shopper
//! found a review helpful. One vote per shopper and review: voting again
//! answers 200 with `counted: false` and changes nothing; voting for one's
//! own review is 403 `OWN_REVIEW`.

use serde::Serialize;
use shop_domain::ids::ProductId;
use shop_domain::review::ReviewId;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::reviews::Reviews;

pub async fn handle(store: &impl Reviews, req: Request) -> Response<Body> {
    http::respond(req, |req| vote(store, req)).await
}

shop_edge::function!(VoteReview, Request => Response<Body>, handle);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VoteView<'a> {
    review_id: &'a ReviewId,
    helpful: u32,
    counted: bool,
}

async fn vote(store: &impl Reviews, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let product = http::path_param(&req, "productId", ProductId::parse)?;
    let review = http::path_param(&req, "reviewId", ReviewId::parse)?;
    let vote = store.vote_helpful(&shopper.user_id, &product, &review).await?;
    Ok(http::json(
        StatusCode::OK,
        &VoteView {
            review_id: &review,
            helpful: vote.helpful,
            counted: vote.counted,
        },
    ))
}
