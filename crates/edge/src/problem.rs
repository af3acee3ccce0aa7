//! The API's errors, rendered as `application/problem+json` (RFC 9457) with a
//! stable machine-readable `code`.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};
use shop_domain::cart::{self, MAX_LINES_PER_CART};
use shop_domain::stock::MAX_QUANTITY_PER_LINE;
use shop_domain::time as clock;
pub use shop_domain::validation::FieldError;
use shop_store::StoreError;
use shop_store::cart::CartError;
use shop_store::reviews::ReviewError;

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: fields of the request are missing or out of range.
    #[error("{}", describe_fields(.0))]
    Validation(Vec<FieldError>),
    /// 400: the body is not JSON at all.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// 413: the body is larger than the route accepts.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415: the body is not declared as JSON.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// 401: no valid token.
    #[error("sign in first: this route needs a valid bearer token")]
    Unauthorized,
    /// 403: a valid token without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: unknown, or not the caller's.
    #[error("{resource} {id} does not exist")]
    NotFound { resource: &'static str, id: String },
    /// A business refusal with its own code: 409 (conflicts with the current
    /// state), 402 (payment failed), 422 (understood but not acceptable).
    #[error("{detail}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        detail: String,
        extra: Map<String, Value>,
    },
    /// 503: a dependency did not answer; the client may retry.
    #[error("{detail}")]
    Unavailable { detail: String, retry_after_secs: u32 },
    /// 500: a bug or an unexpected answer from a dependency.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe_fields(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
    format!("invalid request: {}", parts.join("; "))
}

/// Both fields, or a 400 listing every one that is invalid.
pub fn both_valid<A, B>(a: Result<A, FieldError>, b: Result<B, FieldError>) -> Result<(A, B), ApiError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(ApiError::Validation(a.err().into_iter().chain(b.err()).collect())),
    }
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A 409 with `extra` (a JSON object) merged into the problem document.
    pub fn conflict(code: &'static str, detail: impl Into<String>, extra: Value) -> Self {
        Self::refused(StatusCode::CONFLICT, code, detail, extra)
    }

    /// A refusal with any status, `extra` merged into the problem document.
    pub fn refused(status: StatusCode, code: &'static str, detail: impl Into<String>, extra: Value) -> Self {
        let extra = match extra {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self::Refused {
            status,
            code,
            detail: detail.into(),
            extra,
        }
    }

    pub fn not_found(resource: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Refused { status, .. } => *status,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::MalformedJson(_) => "MALFORMED_JSON",
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::Refused { code, .. } => code,
            Self::Unavailable { .. } => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The problem document: `{ type, title, status, detail, code, ...extra }`.
    pub fn to_problem(&self) -> Value {
        let status = self.status();
        // Internal details stay in the logs, not in the response.
        let detail = match self {
            Self::Internal(_) => "something went wrong on our side; it has been logged".to_owned(),
            other => other.to_string(),
        };
        let mut doc = json!({
            "type": format!("https://storefront.dev/problems/{}", self.code().to_lowercase().replace('_', "-")),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
            "code": self.code(),
        });
        let obj = doc.as_object_mut().expect("a problem is an object");
        match self {
            Self::Validation(errors) => {
                obj.insert("errors".into(), json!(errors));
            }
            // The standard members always win over an extra one of the same name.
            Self::Refused { extra, .. } => {
                for (name, value) in extra {
                    obj.entry(name.clone()).or_insert_with(|| value.clone());
                }
            }
            _ => {}
        }
        doc
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::builder()
            .status(self.status())
            .header(header::CONTENT_TYPE, "application/problem+json")
            .body(Body::Text(self.to_problem().to_string()))
            .expect("a problem response is always valid");
        if let Self::Unavailable { retry_after_secs, .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "DynamoDB unavailable");
                ApiError::Unavailable {
                    detail: "the shop's database is not answering; try again shortly".into(),
                    retry_after_secs: 1,
                }
            }
            StoreError::Contention { .. } => ApiError::Unavailable {
                detail: "too many concurrent changes to the same item; try again".into(),
                retry_after_secs: 1,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The HTTP answer for each cart refusal, in one place for every cart route.
impl From<CartError> for ApiError {
    fn from(error: CartError) -> Self {
        let detail = error.to_string();
        let conflict = |code, extra| ApiError::conflict(code, detail, extra);
        match error {
            CartError::UnknownProduct(id) => ApiError::not_found("product", id),
            CartError::NotInCart(id) => ApiError::not_found("cart line", id),
            CartError::Insufficient(short) => {
                // Every cart route's refusal for want of stock passes here.
                crate::metrics::count(crate::metrics::RESERVATIONS_REFUSED, 1);
                conflict(
                    "INSUFFICIENT_INVENTORY",
                    json!({ "available": short.available, "requested": short.requested }),
                )
            }
            CartError::LineLimit { in_cart } => conflict(
                "LINE_QUANTITY_LIMIT",
                json!({ "maxPerLine": MAX_QUANTITY_PER_LINE, "inCart": in_cart }),
            ),
            CartError::CartFull => conflict("CART_FULL", json!({ "maxLines": MAX_LINES_PER_CART })),
            CartError::HoldSpent { until, .. } => conflict(
                "HOLD_LIMIT_REACHED",
                json!({ "maxHoldMinutes": cart::MAX_HOLD.whole_minutes(), "retryAfter": clock::format(until) }),
            ),
            CartError::Store(e) => e.into(),
        }
    }
}

impl From<ReviewError> for ApiError {
    fn from(error: ReviewError) -> Self {
        let detail = error.to_string();
        match error {
            ReviewError::NotABuyer(product) => ApiError::refused(
                StatusCode::FORBIDDEN,
                "NOT_A_BUYER",
                detail,
                json!({ "productId": product }),
            ),
            ReviewError::NotFound(id) => ApiError::not_found("review", id),
            ReviewError::OwnReview => ApiError::refused(StatusCode::FORBIDDEN, "OWN_REVIEW", detail, json!({})),
            ReviewError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problems_list_every_field() {
        let problem = ApiError::Validation(vec![FieldError::new("title", "must not be empty")]).to_problem();
        assert_eq!(problem["status"], 400);
        assert_eq!(problem["code"], "VALIDATION_FAILED");
        assert_eq!(problem["errors"][0]["field"], "title");
        assert_eq!(problem["detail"], "invalid request: title: must not be empty");
    }

    #[test]
    fn conflicts_carry_their_extra_members() {
        let mut extra = Map::new();
        extra.insert("committed".into(), json!(4));
        let problem = ApiError::conflict("STOCK_BELOW_COMMITTED", "no", Value::Object(extra)).to_problem();
        assert_eq!(problem["code"], "STOCK_BELOW_COMMITTED");
        assert_eq!(problem["committed"], 4);
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let problem = ApiError::Internal("table xyz missing".into()).to_problem();
        assert!(!problem["detail"].as_str().unwrap().contains("xyz"));
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let response = ApiError::Unavailable {
            detail: "down".into(),
            retry_after_secs: 2,
        }
        .into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
