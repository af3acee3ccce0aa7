//! Rebuilding the index from the table: every product, read and written the
//! way the updater does ([`super::updater::refresh`]), one parallel scan
//! segment at a time. A segment stops after its time budget and says where
//! to go on, so a catalog of any size is rebuilt by invocations that each
//! fit in Lambda's 15 minutes (`functions/reindex-search`), or by one
//! process that simply goes on (`devstack reindex`).
//!
//! Every write is an upsert of what the table holds now, so running a
//! segment twice, or while shoppers and staff change the catalog, leaves
//! the same index as running it once.

use super::SearchBackend;
use super::updater::refresh;
use shop_domain::ids::ProductId;
use shop_store::StoreError;
use shop_store::catalog::{CategoryReader, ProductReader, ProductScanner, ScanCursor, ScanSegment};
use std::collections::BTreeSet;
use std::time::Instant;

/// Products read per scan page (and refreshed at once).
pub const PAGE: u32 = 200;

/// How far a segment got.
#[derive(Debug, Default)]
pub struct Progress {
    /// Products written to the index.
    pub indexed: u64,
    /// Products that could not be written after a second try.
    pub failed: BTreeSet<ProductId>,
    /// Where the segment goes on; `None` once it is done.
    pub next: Option<ScanCursor>,
}

/// Indexes segment `segment` from `cursor` (its start if none) until it is
/// done or `until` has passed, whichever comes first (at least one page).
pub async fn segment<B: SearchBackend>(
    store: &(impl ProductScanner + ProductReader + CategoryReader + Sync),
    index: &B,
    segment: ScanSegment,
    cursor: Option<ScanCursor>,
    until: Instant,
) -> Result<Progress, StoreError> {
    let mut progress = Progress {
        next: cursor,
        ..Progress::default()
    };
    loop {
        let page = store.product_ids(segment, progress.next.as_ref(), PAGE).await?;
        let ids: BTreeSet<ProductId> = page.ids.into_iter().collect();
        let mut failed = refresh(store, index, &ids).await;
        if !failed.is_empty() {
            failed = refresh(store, index, &failed).await;
        }
        progress.indexed += (ids.len() - failed.len()) as u64;
        progress.failed.extend(failed);
        progress.next = page.next;
        if progress.next.is_none() || Instant::now() >= until {
            return Ok(progress);
        }
    }
}
