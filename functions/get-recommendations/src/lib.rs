//! `GET /products/{productId}/recommendations?limit=`: "customers also
//! bought", as product summaries, best first (`shop_domain::recommendations`).

use serde::Serialize;
use shop_domain::catalog::ProductSummary;
use shop_domain::catalog::{BrowseSort, Product};
use shop_domain::ids::ProductId;
use shop_domain::recommendations::{Basis, DEFAULT_LIMIT, MAX_LIMIT, Recommendations, rank};
use shop_edge::http::{self, Body, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::StoreError;
use shop_store::catalog::CategoryBrowser;
use shop_store::catalog::ProductReader;
use shop_store::recommendations::CoPurchases;

pub async fn handle(store: &(impl ProductReader + CoPurchases + CategoryBrowser), req: Request) -> Response<Body> {
    http::respond(req, |req| get_recommendations(store, req)).await
}

shop_edge::function!(GetRecommendations, Request => Response<Body>, handle);

fn parse_limit(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(format!("must be a whole number from 1 to {MAX_LIMIT}")),
    }
}

async fn get_recommendations(
    store: &(impl ProductReader + CoPurchases + CategoryBrowser),
    req: Request,
) -> Result<Response<Body>, ApiError> {
    http::only_query_params(&req, &["limit"])?;
    let id = http::path_param(&req, "productId", ProductId::parse)?;
    let limit = http::query_param(&req, "limit", parse_limit)?.unwrap_or(DEFAULT_LIMIT);
    let (product, _) = store
        .product_with_stock(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("product", &id))?;
    let recommendations = recommend(store, &product, limit).await?;
    Ok(http::json(
        StatusCode::OK,
        &RecommendationsView {
            product_id: &id,
            basis: recommendations.basis,
            products: recommendations.products.iter().map(ProductSummary::from).collect(),
        },
    ))
}

/// The answer: products to show next to this one, best first, and why.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecommendationsView<'a> {
    product_id: &'a ProductId,
    basis: Basis,
    products: Vec<ProductSummary>,
}

/// Up to `limit` products to show next to `product`.
pub async fn recommend(
    store: &(impl ProductReader + CoPurchases + CategoryBrowser),
    product: &Product,
    limit: u32,
) -> Result<Recommendations, StoreError> {
    let limit = limit as usize;
    let others = |products: Vec<Product>| -> Vec<Product> {
        products
            .into_iter()
            .filter(|p| p.id != product.id)
            .take(limit)
            .collect()
    };
    let partners = rank(store.also_bought(&product.id).await?, limit);
    let products = store.products(&partners).await?;
    if !products.is_empty() {
        return Ok(Recommendations {
            basis: Basis::AlsoBought,
            products,
        });
    }
    let best_sellers = store.best_sellers(&product.category_id, limit + 1).await?;
    let products = others(store.products(&best_sellers).await?);
    if !products.is_empty() {
        return Ok(Recommendations {
            basis: Basis::CategoryBestSellers,
            products,
        });
    }
    let page = store
        .browse(
            std::slice::from_ref(&product.category_id),
            BrowseSort::Rating,
            limit as u32 + 1,
            None,
        )
        .await?;
    Ok(Recommendations {
        basis: Basis::CategoryTopRated,
        products: others(page.products),
    })
}
