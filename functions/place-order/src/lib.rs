//! `POST /orders` with an `Idempotency-Key` header and `{ shippingAddress,
//! paymentMethodId }`: checkout. 201 `{ orderId, status, subtotal, tax,
//! shipping, total, estimatedDelivery }`; a repeat with the same key and body
//! gets the first answer again, byte for byte, with `Idempotent-Replayed:
//! true`. The flow is `shop_orders::checkout`; `docs/checkout.md` explains it.

use serde::Deserialize;
use serde_json::json;
use shop_domain::idempotency::{self, IdempotencyKey, StoredResponse};
use shop_domain::order::{CheckoutRefusal, ShippingAddress};
use shop_domain::payment::PaymentMethodId;
use shop_domain::time::Now;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::{ApiError, FieldError};
use shop_orders::checkout::{self, CheckoutError, PlaceOrder};
use shop_payments::PaymentProvider;
use shop_payments::Payments;
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

shop_edge::function!(Checkout, Request => Response<Body>, handle, Payments = |init| Payments::load(init.env, init.sdk, init.store).await?);

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
    .await
    .map_err(problem)?;
    use shop_edge::metrics::{self, IDEMPOTENT_REPLAYS, ORDERS_PLACED, PAYMENT_DECLINES};
    match (&answer.response, answer.replayed) {
        (_, true) => metrics::count(IDEMPOTENT_REPLAYS, 1),
        (StoredResponse::Placed { .. }, false) => metrics::count(ORDERS_PLACED, 1),
        (StoredResponse::Refused(CheckoutRefusal::PaymentFailed { .. }), false) => metrics::count(PAYMENT_DECLINES, 1),
        _ => {}
    }
    let mut response = match answer.response {
        StoredResponse::Placed { body } => http::stored(StatusCode::CREATED.as_u16(), body),
        StoredResponse::Refused(refusal) => refused(refusal).into_response(),
        StoredResponse::Rendered { status, body } => http::stored(status, body),
    };
    if answer.replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, http::HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The HTTP answer for a checkout that placed no order. It is rendered
/// from the stored refusal on every replay, so it must stay the same for
/// the same refusal: no clock, no request data.
fn refused(refusal: CheckoutRefusal) -> ApiError {
    let detail = refusal.to_string();
    let code = refusal.code();
    match refusal {
        CheckoutRefusal::PaymentFailed { decline_code, .. } => ApiError::refused(
            StatusCode::PAYMENT_REQUIRED,
            code,
            detail,
            json!({ "declineCode": decline_code }),
        ),
        CheckoutRefusal::ReservationExpired { product_ids } => {
            ApiError::conflict(code, detail, json!({ "productIds": product_ids }))
        }
        CheckoutRefusal::CartEmpty | CheckoutRefusal::CartChanged | CheckoutRefusal::CheckoutInterrupted => {
            ApiError::conflict(code, detail, json!({}))
        }
    }
}

/// The HTTP answer for a checkout request that ended without an answer to
/// keep.
fn problem(error: CheckoutError) -> ApiError {
    match error {
        CheckoutError::KeyInUse => ApiError::conflict(
            "IDEMPOTENCY_KEY_IN_USE",
            "a request with this Idempotency-Key is still being processed; retry shortly",
            json!({}),
        ),
        CheckoutError::KeyReused => ApiError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was already used with a different request body; use a new key",
            json!({}),
        ),
        CheckoutError::ProviderUnavailable(_) => ApiError::Unavailable {
            detail: "the payment provider did not answer; retry with the same Idempotency-Key".into(),
            retry_after_secs: 2,
        },
        CheckoutError::ProviderRefused(_) | CheckoutError::Crashed(_) => ApiError::Internal(error.to_string()),
        CheckoutError::Store(e) => e.into(),
    }
}
