//! `GET /search?q=&category=&brand=&brand=&priceMin=&priceMax=&inStock=&ratingMin=&sort=&page=&limit=`:
//! fuzzy product search with facets (semantics in `shop_search`). When
//! the search backend is down (its circuit breaker open), the answer comes
//! from DynamoDB's category browse instead, flagged `degraded: true`.

use serde::Serialize;
use shop_domain::catalog::leaves_under;
use shop_edge::http::{self, Body, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_search::backend::AnyBackend;
use shop_search::fallback::{self, Fallback};
use shop_search::{Facets, SearchBackend, SearchHit, Searcher, query};
use std::sync::Arc;

pub async fn handle<B: SearchBackend>(store: &impl Fallback, searcher: &Searcher<B>, req: Request) -> Response<Body> {
    http::respond(req, |req| search(store, searcher, req)).await
}

shop_edge::function!(Search, Request => Response<Body>, handle, Arc<Searcher<AnyBackend>> = |init| init
    .provided_or(async { Ok(Arc::new(Searcher::new(AnyBackend::from_lookup(init.env).await?))) })
    .await?);

async fn search<B: SearchBackend>(
    store: &impl Fallback,
    searcher: &Searcher<B>,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    http::only_query_params(&req, query::PARAMETERS)?;
    let request = query::parse(|name| http::query_values(&req, name)).map_err(ApiError::Validation)?;
    let categories = store.categories().await?;
    if let Some(category) = &request.category
        && leaves_under(&categories, category).is_none()
    {
        return Err(ApiError::not_found("category", category));
    }
    let (hits, total, facets, degraded, has_more) = match searcher.search(&request).await {
        Ok(results) => {
            let shown = request.offset() as u64 + results.hits.len() as u64;
            let hits: Vec<SearchHit> = results.hits.iter().map(SearchHit::from).collect();
            (hits, results.total, results.facets, false, results.total > shown)
        }
        Err(error) => {
            tracing::warn!(%error, "search backend unavailable; answering from category browse");
            shop_edge::metrics::count(shop_edge::metrics::SEARCH_DEGRADED, 1);
            let (hits, has_more) = fallback::degraded(store, &categories, &request).await?;
            let facets = Facets {
                categories: Vec::new(),
                brands: Vec::new(),
                price_ranges: shop_search::price_buckets([0; 4]),
                avg_rating: None,
            };
            let shown = hits.len() as u64;
            (hits, shown, facets, true, has_more)
        }
    };
    Ok(http::json(
        StatusCode::OK,
        &SearchPage {
            products: hits,
            facets,
            total_count: total,
            page: request.page,
            limit: request.limit,
            sort: request.sort.as_str(),
            has_more,
            degraded,
        },
    ))
}

/// The answer: a page of hits, the facets over every match, and whether
/// the backend was down (`degraded`: answered from category browse).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchPage {
    products: Vec<SearchHit>,
    facets: Facets,
    total_count: u64,
    page: u32,
    limit: u32,
    sort: &'static str,
    has_more: bool,
    degraded: bool,
}
