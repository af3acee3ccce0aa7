//! Lambda entry point: wiring only; the handler is in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    shop_edge::lambda::run_events(
        |_, _| Ok(()),
        |store, _, event| update_recommendations::handle(store, event),
    )
    .await
}
