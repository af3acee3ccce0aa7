//! An order's life after checkout: the shopper's cancel (stock back, money
//! back), and refunds the reconciler retries.

use serde_json::json;
use shop_domain::ids::UserId;
use shop_domain::order::{Order, OrderId, OrderStatus, StatusChange};
use shop_domain::payment::PaymentId;
use shop_domain::time::Now;
use shop_edge::problem::ApiError;
use shop_payments::PaymentProvider;
use shop_store::MAX_ATTEMPTS;
use shop_store::orders::{OrderReader, OrderWriter};

/// The caller's order with its history; another user's order is "not found".
async fn own_order(
    store: &impl OrderReader,
    user: &UserId,
    id: &OrderId,
) -> Result<(Order, Vec<StatusChange>), ApiError> {
    shop_store::orders::own_order(store, user, id)
        .await?
        .ok_or_else(|| ApiError::not_found("order", id))
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
    Err(shop_store::StoreError::Contention { attempts: MAX_ATTEMPTS }.into())
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
