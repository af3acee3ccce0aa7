//! Lambda entry point: wiring only; the handler is in `lib.rs`. The
//! WebSocket stage's management endpoint comes from `LIVE_CALLBACK_URL`.

use shop_live::ApiGatewayNotifier;

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    shop_edge::lambda::run_events(
        |_, sdk| {
            let url = std::env::var("LIVE_CALLBACK_URL").map_err(|_| "LIVE_CALLBACK_URL is not set")?;
            Ok(ApiGatewayNotifier::new(sdk, &url))
        },
        push_stock::handle,
    )
    .await
}
