//! Lambda entry point: wiring only; the handler is in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_events(
        |config, sdk| Ok(relay_events::publisher(config, shared::aws::sqs(sdk, None))?),
        |_, publisher, event| relay_events::handle(publisher, event),
    )
    .await
}
