//! The reservation sweeper (scheduled; a timer in the local runner): releases
//! cart lines whose 30 minutes have passed, returning their units to stock.
//! Expiry is decided from the stored `reservedUntil`; DynamoDB's TTL only
//! collects the garbage days later.

use shared::store::StoreError;
use shared::store::cart::ReservationSweeper;
use shared::time::Timestamp;

/// Releases everything that expired before `now`; returns how many lines.
pub async fn sweep(store: &impl ReservationSweeper, now: Timestamp) -> Result<usize, StoreError> {
    let released = store.release_expired(now).await?;
    if released > 0 {
        tracing::info!(released, "released expired reservations");
    }
    Ok(released)
}
