//! `GET /products/{productId}/recommendations?limit=`: "customers also
//! bought", as product summaries, best first (`shared::recommendations`).

use serde_json::json;
use shared::catalog::ProductSummary;
use shared::http::{self, Body, Request, Response, StatusCode};
use shared::ids::ProductId;
use shared::problem::ApiError;
use shared::recommendations::{DEFAULT_LIMIT, MAX_LIMIT, recommend};
use shared::store::DynamoStore;

pub async fn handle(store: &DynamoStore, req: Request) -> Response<Body> {
    http::respond(req, |req| get_recommendations(store, req)).await
}

fn parse_limit(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(format!("limit must be a whole number from 1 to {MAX_LIMIT}")),
    }
}

async fn get_recommendations(store: &DynamoStore, req: Request) -> Result<Response<Body>, ApiError> {
    http::only_query_params(&req, &["limit"])?;
    let id = http::path_param(&req, "productId", ProductId::parse)?;
    let limit = http::query_param(&req, "limit", parse_limit)?.unwrap_or(DEFAULT_LIMIT);
    let (product, _) = store
        .product_partition(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("product", &id))?;
    let recommendations = recommend(store, &product, limit).await?;
    let products: Vec<ProductSummary> = recommendations.products.iter().map(ProductSummary::from).collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({ "productId": id, "basis": recommendations.basis, "products": products }),
    ))
}
