//! Lambda entry point: wiring only; the handler is in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    shop_edge::lambda::run_events(
        |config, sdk| Ok(relay_events::publisher(config, shop_events::sqs(sdk, None))?),
        |_, publisher, event| relay_events::handle(publisher, event),
    )
    .await
}
