//! The ledger audit (scheduled; `devstack audit` runs the same check on the
//! local stack): checks that stock and money add up (`shop_orders::audit`),
//! logs every discrepancy and publishes their count as the
//! `LedgerDiscrepancies` metric, which raises an alarm.

use shop_domain::time::{Now, Timestamp};
use shop_edge::function::Error;
use shop_orders::audit::{self, AuditError, AuditReport};
use shop_payments::PaymentProvider;
use shop_payments::Payments;
use shop_store::DynamoStore;
use shop_store::ledger::LedgerReader;

/// Audits everything at `now`: all the stock, and the payments of the last
/// [`ledger::PAYMENT_WINDOW`].
pub async fn run<L, P>(store: &L, payments: &P, now: Timestamp) -> Result<AuditReport, AuditError>
where
    L: LedgerReader,
    P: PaymentProvider,
{
    let report = audit::audit(store, payments, now - audit::PAYMENT_WINDOW).await?;
    for discrepancy in &report.discrepancies {
        tracing::error!(%discrepancy, "the ledger does not add up");
    }
    for product in &report.unsettled {
        tracing::warn!(%product, "stock kept moving through every recheck; the next audit looks again");
    }
    tracing::info!(
        discrepancies = report.discrepancies.len(),
        unsettled = report.unsettled.len(),
        totals = ?report.totals,
        "ledger audited"
    );
    use shop_edge::metrics::{LEDGER_DISCREPANCIES, LEDGER_UNSETTLED, count};
    count(LEDGER_DISCREPANCIES, report.discrepancies.len() as u64);
    count(LEDGER_UNSETTLED, report.unsettled.len() as u64);
    Ok(report)
}

/// One scheduled run; an error fails the invocation.
async fn tick(store: &DynamoStore, payments: &Payments, _: ()) -> Result<(), Error> {
    // Boxed: the audit's future is deep enough to overflow rustc's
    // layout query inside the Lambda runtime's future.
    Box::pin(run(store, payments, store.now())).await?;
    Ok(())
}

shop_edge::function!(AuditLedger, () => Result<(), Error>, tick, Payments = |init| Payments::load(init.env, init.sdk, init.store).await?);
