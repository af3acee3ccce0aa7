//! `PUT /admin/products/{productId}/stock` `{ onHand, shards? }`: set how many
//! units the shop has (admin only), never below what is reserved or sold, and
//! optionally over how many stock items a hot product's stock is split.

use serde::{Deserialize, Serialize};
use serde_json::json;
use shop_domain::ids::ProductId;
use shop_domain::stock::{OnHand, ShardCount, StockError, StockLevel};
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::{self, ApiError, FieldError};
use shop_store::catalog::{SetStockError, StockWriter};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetStockInput {
    on_hand: i64,
    shards: Option<i64>,
}

pub async fn handle(store: &impl StockWriter, req: Request) -> Response<Body> {
    http::respond(req, |req| put_stock(store, req)).await
}

shop_edge::function!(PutStock, Request => Response<Body>, handle);

async fn put_stock(store: &impl StockWriter, req: Request) -> Result<Response<Body>, ApiError> {
    let admin = Identity::require_admin(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "productId", ProductId::parse)?;
    let input: SetStockInput = http::json_body(&req)?;
    let on_hand = OnHand::parse(input.on_hand).map_err(|m| FieldError::new("onHand", m));
    let shards = input
        .shards
        .map(ShardCount::parse)
        .transpose()
        .map_err(|m| FieldError::new("shards", m));
    let (on_hand, shards) = problem::both_valid(on_hand, shards)?;

    let set = store.set_stock(&id, on_hand, shards).await.map_err(|e| match e {
        SetStockError::UnknownProduct(id) => ApiError::not_found("product", id),
        SetStockError::Refused(refusal @ StockError::BelowCommitted { requested, committed }) => ApiError::conflict(
            "STOCK_BELOW_COMMITTED",
            refusal.to_string(),
            json!({ "requested": requested, "committed": committed }),
        ),
        SetStockError::Store(e) => e.into(),
    })?;
    let level = set.level;
    tracing::info!(admin = %admin.user_id, product = %id, on_hand = level.on_hand, shards = set.shards, "stock set");
    Ok(http::json(
        StatusCode::OK,
        &StockView {
            product_id: &id,
            level,
            in_stock: level.in_stock(),
            shards: set.shards,
            draining_shards: set.draining,
        },
    ))
}

/// The answer: the product's stock as it is now.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StockView<'a> {
    product_id: &'a ProductId,
    #[serde(flatten)]
    level: StockLevel,
    in_stock: bool,
    shards: u8,
    draining_shards: usize,
}
