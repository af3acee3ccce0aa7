//! Lambda entry point: wiring only; the handler is in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shop_edge::lambda::Error> {
    shop_edge::lambda::run_with(
        |_, store| Ok(shop_payments::Payments::from_env(store)?),
        cancel_order::handle,
    )
    .await
}
