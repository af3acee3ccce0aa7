//! Lambda entry point: serves the function `lib.rs` describes.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    shop_edge::lambda::serve_http::<search_suggest::SearchSuggest>().await
}
