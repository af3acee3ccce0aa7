//! Lambda entry point: wiring only; the handler is in `lib.rs`.
//!
//! The backend comes from the environment (`SEARCH_BACKEND`: `tantivy`, the
//! default, reading `SEARCH_INDEX_DIR`; or `opensearch`, reading
//! `OPENSEARCH_ENDPOINT` and `OPENSEARCH_INDEX`): see
//! `shop_search::backend`.

use shop_search::Searcher;
use shop_search::backend::{AnyBackend, BackendSettings};

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    let backend = AnyBackend::open(&BackendSettings::from_env()?).await?;
    shop_edge::lambda::run_with(|_, _| Ok(Searcher::new(backend)), search::handle).await
}
