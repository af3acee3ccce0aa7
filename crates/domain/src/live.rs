//! What a storefront page can watch over the live WebSocket (`shop-live`).

use crate::ids::ProductId;
use crate::order::OrderId;

/// A thing whose changes are pushed to the connections watching it: a
/// product's stock, or an order's status.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    Product(ProductId),
    Order(OrderId),
}
