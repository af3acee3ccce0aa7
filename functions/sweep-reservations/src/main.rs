//! Lambda entry point: wiring only; the job is in `lib.rs`.

use shared::time::Now;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_scheduled(|store| async move {
        sweep_reservations::sweep(store, store.now()).await?;
        Ok(())
    })
    .await
}
