//! `GET /products/{productId}/reviews?sort=&limit=&cursor=`: one page of a
//! product's reviews, newest or most helpful first, with the product's
//! rating histogram (`docs/reviews.md`).

use serde::Serialize;
use shop_domain::ids::ProductId;
use shop_domain::review::{DEFAULT_PAGE, MAX_PAGE, RatingSummary, ReviewSort, ReviewView};
use shop_edge::http::{self, Body, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::catalog::ProductReader;
use shop_store::reviews::{ReviewCursor, Reviews};

pub async fn handle(store: &(impl ProductReader + Reviews), req: Request) -> Response<Body> {
    http::respond(req, |req| list_reviews(store, req)).await
}

shop_edge::function!(ListReviews, Request => Response<Body>, handle);

fn parse_limit(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        _ => Err(format!("must be a whole number from 1 to {MAX_PAGE}")),
    }
}

/// The answer: the rating summary, then the page.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewsPage<'a> {
    product_id: &'a ProductId,
    #[serde(flatten)]
    summary: RatingSummary,
    reviews: Vec<ReviewView<'a>>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

async fn list_reviews(store: &(impl ProductReader + Reviews), req: Request) -> Result<Response<Body>, ApiError> {
    http::only_query_params(&req, &["sort", "limit", "cursor"])?;
    let id = http::path_param(&req, "productId", ProductId::parse)?;
    let sort = http::query_param(&req, "sort", ReviewSort::parse)?.unwrap_or_default();
    let limit = http::query_param(&req, "limit", parse_limit)?.unwrap_or(DEFAULT_PAGE);
    let after = http::query_param(&req, "cursor", |v| ReviewCursor::parse(sort, v))?;
    let (product, _) = store
        .product_with_stock(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("product", &id))?;
    let (histogram, (reviews, next)) = tokio::try_join!(
        store.histogram(&product),
        store.reviews(&id, sort, limit, after.as_ref())
    )?;
    Ok(http::json(
        StatusCode::OK,
        &ReviewsPage {
            product_id: &id,
            summary: RatingSummary::from(&histogram),
            reviews: reviews.iter().map(|r| r.view()).collect(),
            next_cursor: next.map(|c| c.to_string()),
        },
    ))
}
