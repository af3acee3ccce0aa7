//! Lambda entry point: wiring only; the job is in `lib.rs`.

use shop_domain::time::Now;

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    shop_edge::lambda::run_scheduled_with(
        |_, store| Ok(shop_payments::Payments::from_env(store)?),
        |store, payments| async move {
            // Boxed: the settle-and-commit future is deep enough to overflow
            // rustc's layout query in this async main (as update-search-index's did).
            Box::pin(reconcile_payments::run(store, payments, store.now())).await?;
            Ok(())
        },
    )
    .await
}
