//! `POST /orders` with an `Idempotency-Key` header and `{ shippingAddress,
//! paymentMethodId }`: checkout. 201 `{ orderId, status, subtotal, tax,
//! shipping, total, estimatedDelivery }`; a repeat with the same key and body
//! gets the first answer again, byte for byte, with `Idempotent-Replayed:
//! true`. The flow is `shop_orders::checkout`; `docs/checkout.md` explains it.

use serde::Deserialize;
use shop_domain::idempotency::{self, IdempotencyKey};
use shop_domain::order::ShippingAddress;
use shop_domain::payment::PaymentMethodId;
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response};
use shop_edge::problem::{ApiError, FieldError};
use shop_orders::checkout::{self, PlaceOrder};
use shop_payments::PaymentProvider;
use shop_store::cart::CartReader;
use shop_store::orders::CheckoutStore;

/// The request header carrying the shopper's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Set on a response that repeats the stored answer of an earlier request.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlaceOrderInput {
    shipping_address: ShippingAddress,
    payment_method_id: String,
}

pub async fn handle(
    store: &(impl CheckoutStore + CartReader + Now),
    payments: &impl PaymentProvider,
    req: Request,
) -> Response<Body> {
    http::respond(req, |req| place_order(store, payments, req)).await
}

fn idempotency_key(req: &Request) -> Result<IdempotencyKey, ApiError> {
    let field = "Idempotency-Key";
    let header = req
        .headers()
        .get(IDEMPOTENCY_HEADER)
        .ok_or_else(|| ApiError::field(field, "this header is required: a unique key per checkout, e.g. a UUID"))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::field(field, "must be printable ASCII"))?;
    IdempotencyKey::parse(value).map_err(|m| ApiError::field(field, m))
}

async fn place_order(
    store: &(impl CheckoutStore + CartReader + Now),
    payments: &impl PaymentProvider,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let key = idempotency_key(&req)?;
    let input: PlaceOrderInput = http::json_body(&req)?;
    let mut problems = input.shipping_address.problems();
    let payment_method = PaymentMethodId::parse(&input.payment_method_id);
    if let Err(message) = &payment_method {
        problems.push(FieldError::new("paymentMethodId", message));
    }
    let (Ok(payment_method_id), true) = (payment_method, problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    // The fingerprint is of the body as sent (canonicalised), not of what
    // this version of the code happens to read from it.
    let body: serde_json::Value = http::json_body(&req)?;
    let request = PlaceOrder {
        shipping_address: input.shipping_address,
        payment_method_id,
    };
    let answer = checkout::place_order(
        store,
        payments,
        &shopper.user_id,
        &key,
        &idempotency::fingerprint(&body),
        &request,
    )
    .await?;
    let mut response = http::stored(answer.response.status, answer.response.body);
    if answer.replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, http::HeaderValue::from_static("true"));
    }
    Ok(response)
}
