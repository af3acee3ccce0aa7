//! The payment reconciler (scheduled; a timer in the local runner): settles
//! checkouts that died half-way and retries the refunds cancelled orders
//! still owe (`shop_orders::reconcile`), and publishes what it could not settle
//! as the `UnresolvedPayments` metric, which raises an alarm.

use shop_domain::time::{Now, Timestamp};
use shop_edge::function::Error;
use shop_orders::reconcile::{self, Reconciled};
use shop_payments::PaymentProvider;
use shop_payments::Payments;
use shop_store::DynamoStore;
use shop_store::StoreError;
use shop_store::cart::CartReader;
use shop_store::orders::{CheckoutStore, OrderWriter, RefundsOwed, StaleCheckouts};

/// One run at `now`.
pub async fn run<S, P>(store: &S, payments: &P, now: Timestamp) -> Result<Reconciled, StoreError>
where
    S: CheckoutStore + StaleCheckouts + CartReader + OrderWriter + RefundsOwed + Now,
    P: PaymentProvider,
{
    let run = reconcile::reconcile(store, payments, now).await?;
    let settled = run.checkouts_answered.len() + run.refunds_made;
    if settled > 0 || run.failed > 0 {
        tracing::info!(
            checkouts = run.checkouts_answered.len(),
            refunds = run.refunds_made,
            failed = run.failed,
            "reconciled payments"
        );
    }
    use shop_edge::metrics::{RECONCILED_CHECKOUTS, RECONCILED_REFUNDS, UNRESOLVED_PAYMENTS, count};
    count(RECONCILED_CHECKOUTS, run.checkouts_answered.len() as u64);
    count(RECONCILED_REFUNDS, run.refunds_made as u64);
    count(UNRESOLVED_PAYMENTS, run.stuck.len() as u64);
    Ok(run)
}

/// One scheduled run; an error fails the invocation.
async fn tick(store: &DynamoStore, payments: &Payments, _: ()) -> Result<(), Error> {
    // Boxed: the settle-and-commit future is deep enough to overflow
    // rustc's layout query inside the Lambda runtime's future.
    Box::pin(run(store, payments, store.now())).await?;
    Ok(())
}

shop_edge::function!(ReconcilePayments, () => Result<(), Error>, tick, Payments = |init| Payments::load(init.env, init.sdk, init.store).await?);
