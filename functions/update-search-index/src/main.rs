//! Lambda entry point: wiring only; the handler is in `lib.rs`. The index
//! comes from the environment like the search function's
//! (`shop_search::backend`).

use shop_search::backend::{AnyBackend, BackendSettings};

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    let index = AnyBackend::open(&BackendSettings::from_env()?).await?;
    index.ensure_index().await?;
    shop_edge::lambda::run_events(|_, _| Ok(index), update_search_index::handle).await
}
