//! The reservation sweeper (scheduled; a timer in the local runner): releases
//! cart lines whose reservation has passed, returning their units to stock.
//! Expiry is decided from the stored `reservedUntil`; cart lines have no TTL,
//! so a line that still holds units is only ever removed by a release.

use shop_domain::time::Now;
use shop_domain::time::Timestamp;
use shop_edge::function::Error;
use shop_store::DynamoStore;
use shop_store::cart::{ReservationSweeper, Sweep};

/// Releases everything that expired before `now`, going on past lines that
/// fail; says how many were released and how many failed.
pub async fn sweep(store: &impl ReservationSweeper, now: Timestamp) -> Sweep {
    // Boxed: the paged index read nests too deep for the compiler's layout
    // computation inside the Lambda runtime's future.
    let sweep = Box::pin(store.release_expired(now)).await;
    shop_edge::metrics::count(shop_edge::metrics::RESERVATIONS_EXPIRED, sweep.released as u64);
    if sweep.released > 0 || sweep.failed > 0 {
        tracing::info!(
            released = sweep.released,
            failed = sweep.failed,
            "swept expired reservations"
        );
    }
    sweep
}

/// One scheduled run. It fails the invocation if some reservation could not
/// be released, so that it shows in the function's `Errors` metric;
/// everything that could be released was, and the next sweep retries the
/// rest.
async fn tick(store: &DynamoStore, _: ()) -> Result<(), Error> {
    let sweep = sweep(store, store.now()).await;
    if sweep.failed > 0 {
        return Err(format!(
            "{} expired reservations could not be released; the next sweep retries",
            sweep.failed
        )
        .into());
    }
    Ok(())
}

shop_edge::function!(SweepReservations, () => Result<(), Error>, tick);
