//! Lambda entry point: wiring only; the handler is in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    shop_edge::lambda::run(get_recommendations::handle).await
}
