//! Lambda entry point: wiring only; the job is in `lib.rs`.

use shared::time::Now;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_scheduled_with(shared::lambda::payments, |store, payments| async move {
        // Boxed: the audit's future is deep enough to risk overflowing
        // rustc's layout query in this async main (as update-search-index's did).
        Box::pin(audit_ledger::run(store, payments, store.now())).await?;
        Ok(())
    })
    .await
}
