//! Lambda entry point: wiring only; the job is in `lib.rs`.

use shared::time::Now;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_scheduled_with(shared::lambda::payments, |store, payments| async move {
        let since = store.now() - shared::ledger::PAYMENT_WINDOW;
        // Boxed: the settle-and-commit future is deep enough to overflow
        // rustc's layout query in this async main (as update-search-index's did).
        Box::pin(audit_ledger::run(store, payments, since)).await?;
        Ok(())
    })
    .await
}
