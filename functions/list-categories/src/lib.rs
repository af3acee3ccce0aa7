//! `GET /categories`: the category tree with product counts.

use serde::Serialize;
use shop_domain::catalog::{CategoryNode, category_tree};
use shop_edge::http::{self, Body, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::catalog::CategoryReader;

pub async fn handle(store: &impl CategoryReader, req: Request) -> Response<Body> {
    http::respond(req, |req| list_categories(store, req)).await
}

shop_edge::function!(ListCategories, Request => Response<Body>, handle);

async fn list_categories(store: &impl CategoryReader, req: Request) -> Result<Response<Body>, ApiError> {
    http::only_query_params(&req, &[])?;
    let categories = store.categories().await?;
    let tree = CategoryTree {
        categories: category_tree(&categories),
    };
    Ok(http::json(StatusCode::OK, &tree))
}

/// The answer: departments with their subcategories.
#[derive(Serialize)]
struct CategoryTree {
    categories: Vec<CategoryNode>,
}
