//! An order's life after checkout: the shopper's cancel (stock back, money
//! back), and refunds the reconciler retries.

use shop_domain::ids::UserId;
use shop_domain::order::{Order, OrderId, OrderStatus, StatusChange};
use shop_domain::payment::PaymentId;
use shop_domain::time::Now;
use shop_payments::PaymentProvider;
use shop_store::orders::{OrderReader, OrderWriter};
use shop_store::{MAX_ATTEMPTS, StoreError};

/// Why an order could not be changed as asked.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// No such order, or not the caller's.
    #[error("order {0} does not exist")]
    NotFound(OrderId),
    #[error("the order is {0}; only orders not yet shipped can be cancelled")]
    NotCancellable(OrderStatus),
    /// Cancelled, with its stock back, but the refund failed; the reconciler
    /// retries it, and so does the same request.
    #[error("the order is cancelled but its refund did not go through yet: {0}")]
    RefundPending(String),
    /// The payment provider refused or did not answer a refund.
    #[error("refunding {payment}: {cause}")]
    Refund { payment: PaymentId, cause: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The caller's order with its history; another user's order is "not found".
async fn own_order(
    store: &impl OrderReader,
    user: &UserId,
    id: &OrderId,
) -> Result<(Order, Vec<StatusChange>), OrderError> {
    shop_store::orders::own_order(store, user, id)
        .await?
        .ok_or_else(|| OrderError::NotFound(id.clone()))
}

/// Cancels the caller's order before it ships: its units return to stock
/// in the same transaction that cancels it, then the charge is refunded.
/// Calling it again on a cancelled order finishes a refund that failed.
pub async fn cancel_order<S, P>(
    store: &S,
    payments: &P,
    user: &UserId,
    id: &OrderId,
) -> Result<(Order, Vec<StatusChange>), OrderError>
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
            status if !status.cancellable() => return Err(OrderError::NotCancellable(status)),
            // Changed since it was read (e.g. packed meanwhile): decide again.
            _ if !store.cancel(&order, store.now()).await? => continue,
            _ => {
                tracing::info!(order = %order.id, "order cancelled; stock returned");
                refund(store, payments, &order).await?;
                return own_order(store, user, id).await;
            }
        }
    }
    Err(StoreError::Contention { attempts: MAX_ATTEMPTS }.into())
}

async fn refund<S, P>(store: &S, payments: &P, order: &Order) -> Result<(), OrderError>
where
    S: OrderWriter,
    P: PaymentProvider,
{
    refund_owed(store, payments, &order.id, &order.payment.payment_id)
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::warn!(order = %order.id, error = %e, "refund failed; the reconciler retries it");
            OrderError::RefundPending(e.to_string())
        })
}

/// Refunds a cancelled order's payment and records it, so it is owed no
/// longer. Safe to repeat: a refunded payment answers with its refund.
pub async fn refund_owed<S, P>(
    store: &S,
    payments: &P,
    order: &OrderId,
    payment: &PaymentId,
) -> Result<String, OrderError>
where
    S: OrderWriter,
    P: PaymentProvider,
{
    let refund = payments.refund(payment).await.map_err(|e| OrderError::Refund {
        payment: payment.clone(),
        cause: e.to_string(),
    })?;
    store.mark_refunded(order, &refund.id).await?;
    tracing::info!(order = %order, refund = %refund.id, "order refunded");
    Ok(refund.id)
}
