//! Lambda entry point: wiring only; the job is in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_scheduled(|store| async move {
        sweep_reservations::sweep(store, shared::time::now()).await?;
        Ok(())
    })
    .await
}
