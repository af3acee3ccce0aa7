//! Lambda entry point: wiring only; the job is in `lib.rs`.

use shop_domain::time::Now;

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    shop_edge::lambda::run_scheduled(|store| async move {
        let sweep = sweep_reservations::sweep(store, store.now()).await;
        // Failing the invocation shows in the function's Errors metric;
        // everything that could be released was.
        if sweep.failed > 0 {
            return Err(format!(
                "{} expired reservations could not be released; the next sweep retries",
                sweep.failed
            )
            .into());
        }
        Ok(())
    })
    .await
}
