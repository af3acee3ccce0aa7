//! Lambda entry point: wiring only; the handler is in `lib.rs`.
//!
//! The backend comes from the environment (`SEARCH_BACKEND`: `tantivy`, the
//! default, reading `SEARCH_INDEX_DIR`; or `opensearch`, reading
//! `OPENSEARCH_ENDPOINT` and `OPENSEARCH_INDEX`): see
//! `shared::search::backend`.

use shared::search::Searcher;
use shared::search::backend::{AnyBackend, BackendSettings};

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    let backend = AnyBackend::open(&BackendSettings::from_env()?).await?;
    shared::lambda::run_with(|_, _| Ok(Searcher::new(backend)), search::handle).await
}
