//! `PUT /admin/products/{productId}/stock` `{ onHand }`: set how many units
//! the shop has (admin only). Never below what is reserved or sold.

use serde::Deserialize;
use serde_json::json;
use shared::http::{self, Body, Identity, Request, Response, StatusCode};
use shared::ids::ProductId;
use shared::problem::ApiError;
use shared::stock::{OnHand, StockError};
use shared::store::catalog::{SetStockError, StockWriter};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetStockInput {
    on_hand: i64,
}

pub async fn handle(store: &impl StockWriter, req: Request) -> Response<Body> {
    http::respond(req, |req| put_stock(store, req)).await
}

async fn put_stock(store: &impl StockWriter, req: Request) -> Result<Response<Body>, ApiError> {
    let admin = Identity::require_admin(&req)?;
    let id = http::path_param(&req, "productId", ProductId::parse)?;
    let input: SetStockInput = http::json_body(&req)?;
    let on_hand = OnHand::parse(input.on_hand).map_err(|m| ApiError::field("onHand", m))?;

    let level = store.set_on_hand(&id, on_hand).await.map_err(|e| match e {
        SetStockError::UnknownProduct(id) => ApiError::not_found("product", id),
        SetStockError::Refused(refusal @ StockError::BelowCommitted { requested, committed }) => ApiError::conflict(
            "STOCK_BELOW_COMMITTED",
            refusal.to_string(),
            json!({ "requested": requested, "committed": committed }),
        ),
        SetStockError::Store(e) => e.into(),
    })?;
    tracing::info!(admin = %admin.user_id, product = %id, on_hand = level.on_hand, "stock set");
    Ok(http::json(
        StatusCode::OK,
        &json!({
            "productId": id,
            "onHand": level.on_hand,
            "available": level.available,
            "reserved": level.reserved,
            "sold": level.sold,
            "inStock": level.in_stock(),
        }),
    ))
}
