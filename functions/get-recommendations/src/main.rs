//! Lambda entry point: wiring only; the handler is in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run(get_recommendations::handle).await
}
