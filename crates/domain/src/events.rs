//! The messages services send each other (`docs/events.md`): what the
//! search index, live stock and recommendation consumers receive. Which
//! table change makes which message is the relay's business
//! (`shop-events`).

use crate::ids::ProductId;
use crate::money::Money;
use crate::order::{OrderId, OrderStatus};
use crate::review::{ReviewId, Stars};
use serde::{Deserialize, Serialize};

/// What the search index updater hears: "look at this product again".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum CatalogEvent {
    /// The product item was created, changed or deleted.
    ProductChanged { product_id: ProductId, event_id: String },
    /// Units available on one of its stock shards moved.
    StockChanged { product_id: ProductId, event_id: String },
}

impl CatalogEvent {
    pub fn product_id(&self) -> &ProductId {
        match self {
            Self::ProductChanged { product_id, .. } | Self::StockChanged { product_id, .. } => product_id,
        }
    }
}

/// An order event as the outbox item holds it and the recommendation queue
/// receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderEvent {
    /// `<orderId>-<type>-v<version>`: the same change always has the same id.
    pub event_id: String,
    /// `OrderPlaced`, `OrderCancelled`, `OrderStatusChanged` or `OrderRefunded`.
    #[serde(rename = "type")]
    pub kind: String,
    pub order_id: OrderId,
    /// The order's version after the change.
    pub version: u32,
    pub occurred_at: String,
    pub payload: OrderPayload,
}

pub const ORDER_PLACED: &str = "OrderPlaced";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPayload {
    pub order_id: OrderId,
    pub user_id: String,
    pub status: OrderStatus,
    pub lines: Vec<OrderedLine>,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedLine {
    pub product_id: ProductId,
    pub quantity: u32,
}

/// A review's rating changed: what the rating consumer hears. Made from the
/// table's stream: a review written (`before` none), edited (both), or
/// deleted (`after` none). An edit that keeps the stars, and a helpful
/// vote, make none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRated {
    /// Always `ReviewRated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The stream record's `eventID`: the same change always has the same
    /// id, so a redelivered message counts once.
    pub event_id: String,
    pub product_id: ProductId,
    pub review_id: ReviewId,
    pub before: Option<Stars>,
    pub after: Option<Stars>,
}

pub const REVIEW_RATED: &str = "ReviewRated";
