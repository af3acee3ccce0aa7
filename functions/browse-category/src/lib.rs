//! `GET /categories/{categoryId}/products?page=&limit=&sort=`: one category's
//! products (including its subcategories'), a page at a time, from the
//! category indexes; never a scan.

use serde::Serialize;
use shop_domain::catalog::{BrowseSort, ProductSummary, leaves_under};
use shop_domain::ids::CategoryId;
use shop_edge::http::{self, Body, DEFAULT_PAGE_LIMIT, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::catalog::{BrowseCursor, CategoryBrowser, CategoryReader};

pub async fn handle(store: &(impl CategoryReader + CategoryBrowser), req: Request) -> Response<Body> {
    http::respond(req, |req| browse_category(store, req)).await
}

shop_edge::function!(BrowseCategory, Request => Response<Body>, handle);

async fn browse_category(
    store: &(impl CategoryReader + CategoryBrowser),
    req: Request,
) -> Result<Response<Body>, ApiError> {
    http::only_query_params(&req, &["page", "limit", "sort"])?;
    let category_id = http::path_param(&req, "categoryId", CategoryId::parse)?;
    let sort = http::query_param(&req, "sort", BrowseSort::parse)?.unwrap_or_default();
    let limit = http::query_param(&req, "limit", http::parse_limit)?.unwrap_or(DEFAULT_PAGE_LIMIT);
    let categories = store.categories().await?;
    let leaves =
        leaves_under(&categories, &category_id).ok_or_else(|| ApiError::not_found("category", &category_id))?;
    let cursor = http::query_param(&req, "page", |token| BrowseCursor::decode(token, sort, &leaves))?;

    let page = store.browse(&leaves, sort, limit, cursor.as_ref()).await?;
    Ok(http::json(
        StatusCode::OK,
        &BrowsePage {
            category_id: &category_id,
            sort: sort.as_str(),
            limit,
            products: page.products.iter().map(ProductSummary::from).collect(),
            has_more: page.next.is_some(),
            next_page: page.next.map(|c| c.encode()),
        },
    ))
}

/// The answer: a page of the category's products.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrowsePage<'a> {
    category_id: &'a CategoryId,
    sort: &'static str,
    limit: u32,
    products: Vec<ProductSummary>,
    has_more: bool,
    next_page: Option<String>,
}
