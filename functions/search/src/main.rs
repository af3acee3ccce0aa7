//! Lambda entry point: wiring only; the handler is in `lib.rs`.

use shared::search::Searcher;
use shared::search::tantivy::TantivyBackend;

/// Where the tantivy index lives (`SEARCH_INDEX_DIR`, default `/tmp/search-index`).
fn searcher() -> Result<Searcher<TantivyBackend>, shared::lambda::Error> {
    let dir = std::env::var("SEARCH_INDEX_DIR").unwrap_or_else(|_| "/tmp/search-index".to_owned());
    Ok(Searcher::new(TantivyBackend::open(std::path::Path::new(&dir))?))
}

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_with(|_, _| searcher(), search::handle).await
}
