//! `PUT /admin/categories/{categoryId}` with `{ name, parentId? }`: create a
//! category, or rename one (admin only). A new category is a leaf, so
//! products can go in it; giving a leaf its first subcategory is refused
//! while it holds products (409 `CATEGORY_HOLDS_PRODUCTS`), and a category
//! never moves to another parent (409 `CATEGORY_CANNOT_MOVE`).

use serde::Serialize;
use serde_json::json;
use shop_domain::catalog::{CategoryDraft, CategoryDraftInput};
use shop_domain::ids::CategoryId;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::catalog::{CategoryWriter, PutCategoryError};

pub async fn handle(store: &impl CategoryWriter, req: Request) -> Response<Body> {
    http::respond(req, |req| put_category(store, req)).await
}

shop_edge::function!(PutCategory, Request => Response<Body>, handle);

/// A category as the admin routes answer it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CategoryView<'a> {
    category_id: &'a CategoryId,
    name: &'a str,
    parent_id: Option<&'a CategoryId>,
    /// Whether products can go in it.
    is_leaf: bool,
    product_count: u64,
}

async fn put_category(store: &impl CategoryWriter, req: Request) -> Result<Response<Body>, ApiError> {
    let admin = Identity::require_admin(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "categoryId", CategoryId::parse)?;
    let input: CategoryDraftInput = http::json_body(&req)?;
    let draft = CategoryDraft::parse(&id, input).map_err(ApiError::Validation)?;

    let saved = store.put_category(&id, &draft).await.map_err(|e| match e {
        PutCategoryError::UnknownParent(_) => ApiError::field("parentId", e.to_string()),
        PutCategoryError::ParentHoldsProducts(ref parent) => {
            ApiError::conflict("CATEGORY_HOLDS_PRODUCTS", e.to_string(), json!({ "parentId": parent }))
        }
        PutCategoryError::CannotMove { ref current, .. } => {
            ApiError::conflict("CATEGORY_CANNOT_MOVE", e.to_string(), json!({ "parentId": current }))
        }
        PutCategoryError::Store(e) => e.into(),
    })?;
    tracing::info!(admin = %admin.user_id, category = %id, created = saved.created, "category saved");
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let category = &saved.category;
    Ok(http::json(
        status,
        &CategoryView {
            category_id: &category.id,
            name: &category.name,
            parent_id: category.parent_id.as_ref(),
            is_leaf: saved.is_leaf,
            product_count: category.product_count,
        },
    ))
}
