//! An order's life after checkout: the shopper's cancel (stock back, money
//! back) and the fulfilment steps staff record.

use crate::ids::UserId;
use crate::order::{self, Order, OrderId, OrderStatus, StatusChange};
use crate::payments::{PaymentId, PaymentProvider};
use crate::problem::ApiError;
use crate::store::MAX_ATTEMPTS;
use crate::store::orders::{OrderReader, OrderWriter};
use crate::time::Now;
use serde_json::json;

/// The caller's order with its history; another user's order is "not found".
pub async fn own_order(
    store: &impl OrderReader,
    user: &UserId,
    id: &OrderId,
) -> Result<(Order, Vec<StatusChange>), ApiError> {
    match store.order(id).await? {
        Some((order, history)) if &order.user_id == user => Ok((order, history)),
        _ => Err(ApiError::not_found("order", id)),
    }
}

/// Cancels the caller's order before it ships: its units return to stock
/// in the same transaction that cancels it, then the charge is refunded.
/// Calling it again on a cancelled order finishes a refund that failed.
pub async fn cancel_order<S, P>(
    store: &S,
    payments: &P,
    user: &UserId,
    id: &OrderId,
) -> Result<(Order, Vec<StatusChange>), ApiError>
where
    S: OrderReader + OrderWriter + Now,
    P: PaymentProvider,
{
    for _ in 0..MAX_ATTEMPTS {
        let (order, _) = own_order(store, user, id).await?;
        match order.status {
            OrderStatus::Cancelled => {
                if order.payment.refund_id.is_none() {
                    refund(store, payments, &order).await?;
                }
                return own_order(store, user, id).await;
            }
            status if !status.cancellable() => {
                return Err(ApiError::conflict(
                    "ORDER_NOT_CANCELLABLE",
                    format!("the order is {status}; only orders not yet shipped can be cancelled"),
                    json!({ "orderStatus": status }),
                ));
            }
            // Changed since it was read (e.g. packed meanwhile): decide again.
            _ if !store.cancel(&order, store.now()).await? => continue,
            _ => {
                tracing::info!(order = %order.id, "order cancelled; stock returned");
                refund(store, payments, &order).await?;
                return own_order(store, user, id).await;
            }
        }
    }
    Err(crate::store::StoreError::Contention { attempts: MAX_ATTEMPTS }.into())
}

async fn refund<S, P>(store: &S, payments: &P, order: &Order) -> Result<(), ApiError>
where
    S: OrderWriter,
    P: PaymentProvider,
{
    refund_owed(store, payments, &order.id, &order.payment.payment_id)
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::warn!(order = %order.id, error = %e, "refund failed; the reconciler retries it");
            ApiError::Unavailable {
                detail: "the order is cancelled but the refund did not go through yet; it is retried \
                         automatically, or repeat the cancel request"
                    .into(),
                retry_after_secs: 5,
            }
        })
}

/// Refunds a cancelled order's payment and records it, so it is owed no
/// longer. Safe to repeat: a refunded payment answers with its refund.
pub async fn refund_owed<S, P>(
    store: &S,
    payments: &P,
    order: &OrderId,
    payment: &PaymentId,
) -> Result<String, ApiError>
where
    S: OrderWriter,
    P: PaymentProvider,
{
    let refund = payments
        .refund(payment)
        .await
        .map_err(|e| ApiError::Internal(format!("refunding {payment}: {e}")))?;
    store.mark_refunded(order, &refund.id).await?;
    tracing::info!(order = %order, refund = %refund.id, "order refunded");
    Ok(refund.id)
}

/// Records a fulfilment step (`POST /admin/orders/{orderId}/status`).
pub async fn change_status<S>(
    store: &S,
    id: &OrderId,
    to: OrderStatus,
    tracking_number: Option<&str>,
) -> Result<(Order, Vec<StatusChange>), ApiError>
where
    S: OrderReader + OrderWriter + Now,
{
    for _ in 0..MAX_ATTEMPTS {
        let (order, _) = store.order(id).await?.ok_or_else(|| ApiError::not_found("order", id))?;
        order::check_fulfilment(order.status, to, tracking_number).map_err(|e| {
            ApiError::conflict(
                "ILLEGAL_STATUS_TRANSITION",
                e.to_string(),
                json!({ "from": order.status, "to": to }),
            )
        })?;
        if store.set_status(&order, to, tracking_number, store.now()).await? {
            tracing::info!(order = %id, status = %to, "order status changed");
            return store.order(id).await?.ok_or_else(|| ApiError::not_found("order", id));
        }
    }
    Err(crate::store::StoreError::Contention { attempts: MAX_ATTEMPTS }.into())
}
