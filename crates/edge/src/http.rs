//! Request plumbing every HTTP function shares: identity from the verified
//! token, path and query parameters, JSON bodies with a size limit, JSON
//! responses, and the correlation id that ties a request's log lines together.
//!
//! Requests arrive as API Gateway REST (v1) proxy events, converted by
//! `lambda_http`; the local runner builds the same events.

use crate::problem::{ApiError, FieldError};
use lambda_http::RequestExt;
use lambda_http::http::header;
use lambda_http::request::RequestContext;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shop_domain::ids::UserId;
use shop_domain::settings::ConfigError;
use std::future::Future;
use std::time::Instant;
use tracing::Instrument;

pub use lambda_http::http::{HeaderValue, Method, StatusCode};
pub use lambda_http::{Body, Request, Response};

/// The header that carries the correlation id, in and out.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// The largest JSON body any route accepts.
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// Page sizes for every paged list.
pub const DEFAULT_PAGE_LIMIT: u32 = 24;
pub const MAX_PAGE_LIMIT: u32 = 100;
/// The group that marks staff in the token's `cognito:groups` claim.
pub const ADMIN_GROUP: &str = "admin";

/// Who is calling, from the claims the authorizer verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: UserId,
    pub groups: Vec<String>,
}

impl Identity {
    /// Reads the Cognito claims API Gateway put into the request context.
    /// Never reads anything the client sent directly.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let claims = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.authorizer.fields.get("claims"),
            _ => None,
        }
        .ok_or(ApiError::Unauthorized)?;
        let sub = claims
            .get("sub")
            .and_then(|v| v.as_str())
            .ok_or(ApiError::Unauthorized)?;
        let user_id = UserId::parse(sub).map_err(|_| ApiError::Unauthorized)?;
        let groups = claims.get("cognito:groups").map(parse_groups).unwrap_or_default();
        Ok(Self { user_id, groups })
    }

    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == ADMIN_GROUP)
    }

    /// The caller, if they are staff.
    pub fn require_admin(req: &Request) -> Result<Self, ApiError> {
        let identity = Self::from_request(req)?;
        if identity.is_admin() {
            Ok(identity)
        } else {
            Err(ApiError::Forbidden(format!(
                "this route is for the {ADMIN_GROUP} group only"
            )))
        }
    }
}

/// API Gateway passes `cognito:groups` as a string, `admin,ops` or
/// `[admin ops]` depending on the integration; a JSON array is accepted too.
fn parse_groups(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        serde_json::Value::String(s) => s
            .trim_matches(|c| c == '[' || c == ']')
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A path parameter, parsed; a bad value is a 400 naming the parameter.
pub fn path_param<T>(
    req: &Request,
    name: &str,
    parse: impl FnOnce(String) -> Result<T, String>,
) -> Result<T, ApiError> {
    let raw = req
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .ok_or_else(|| ApiError::field(name, "is missing from the path"))?;
    parse(raw.to_owned()).map_err(|m| ApiError::field(name, m))
}

/// An optional query parameter given at most once, parsed.
pub fn query_param<T>(
    req: &Request,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ApiError> {
    let Some(values) = req.query_string_parameters_ref().and_then(|q| q.all(name)) else {
        return Ok(None);
    };
    match values.as_slice() {
        [] => Ok(None),
        [one] => parse(one).map(Some).map_err(|m| ApiError::field(name, m)),
        _ => Err(ApiError::field(name, "must be given at most once")),
    }
}

/// Every value of a query parameter that may repeat (`?brand=a&brand=b`).
pub fn query_values(req: &Request, name: &str) -> Vec<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.all(name))
        .map(|values| values.into_iter().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Refuses query parameters the route does not know, so that a typo
/// (`?sotr=price_asc`) is an error instead of being silently ignored.
pub fn only_query_params(req: &Request, known: &[&str]) -> Result<(), ApiError> {
    let errors: Vec<FieldError> = req
        .query_string_parameters_ref()
        .map(|q| {
            q.iter()
                .map(|(k, _)| k)
                .filter(|k| !known.contains(k))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|k| match known {
            [] => FieldError::new(k, "is not a parameter of this route (it takes none)"),
            _ => FieldError::new(
                k,
                format!("is not a parameter of this route (known: {})", known.join(", ")),
            ),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Parses a page size in `1..=MAX_PAGE_LIMIT`.
pub fn parse_limit(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {MAX_PAGE_LIMIT}")),
    }
}

/// The JSON body, deserialised; says which field is wrong when it does not fit.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .map(|v| {
                let essence = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_JSON_BODY {
        return Err(ApiError::PayloadTooLarge { limit: MAX_JSON_BODY });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the body is empty".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::MalformedJson(inner.to_string())
        } else {
            let message = strip_position(&inner.to_string());
            if let Some(name) = named_field(&message) {
                let field = if path == "." {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                ApiError::field(field, message)
            } else if path == "." || path.starts_with('[') {
                // serde reads a struct from an array too; say what was meant.
                ApiError::field("body", "must be a JSON object")
            } else {
                ApiError::field(path, message)
            }
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// The field a "missing field `x`" error names (serde reports it at the
/// enclosing object, unlike an unknown field, whose path already ends in it).
fn named_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// serde_json ends data errors with "at line 1 column 17"; the field name says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::Text(text))
            .expect("a JSON response is always valid"),
        Err(e) => ApiError::Internal(format!("serialising the response: {e}")).into_response(),
    }
}

/// A response stored earlier (a checkout's, for replays): JSON when it
/// succeeded, a problem document otherwise.
pub fn stored(status: u16, body: String) -> Response<Body> {
    let content_type = if status < 400 {
        "application/json"
    } else {
        "application/problem+json"
    };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::Text(body))
        .unwrap_or_else(|e| ApiError::Internal(format!("a stored response: {e}")).into_response())
}

/// The client's `x-correlation-id`, if it is sensible (1–128 visible ASCII characters).
pub fn client_correlation_id(headers: &lambda_http::http::HeaderMap) -> Option<String> {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
}

/// The correlation id of a request: the client's `x-correlation-id` if it is
/// sensible, else the API Gateway request id, else a new one.
pub fn correlation_id(req: &Request) -> String {
    client_correlation_id(req.headers())
        .or_else(|| match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
            _ => None,
        })
        .unwrap_or_else(|| ulid::Ulid::new().to_string())
}

/// The one origin whose pages may read the API's answers: the storefront's.
/// API Gateway answers CORS preflights and its own refusals with it (the
/// template's `Cors` and gateway responses); a function's answers carry it
/// themselves ([`crate::function::Cors`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin(HeaderValue);

impl AllowedOrigin {
    /// The name of the variable that holds it (template.yaml sets it from
    /// the `StorefrontUrl` parameter).
    pub const VARIABLE: &'static str = "ALLOWED_ORIGIN";

    /// An origin: `http://` or `https://`, a host, perhaps a port, nothing
    /// after (a trailing `/` is dropped).
    pub fn parse(origin: &str) -> Result<Self, String> {
        let origin = origin.trim_end_matches('/');
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or_else(|| format!("{origin:?} is not an origin: it must start with https:// or http://"))?;
        if host.is_empty() || host.contains(['/', '?', '#', '*', ' ']) {
            return Err(format!("{origin:?} is not an origin: only a scheme, a host and a port"));
        }
        HeaderValue::from_str(origin)
            .map(Self)
            .map_err(|_| format!("{origin:?} is not an origin"))
    }

    /// From the environment `lookup` reads: required, so that a deployed
    /// function never answers every origin.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = lookup(Self::VARIABLE)
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError::Missing(Self::VARIABLE))?;
        Self::parse(&value).map_err(|_| ConfigError::Invalid {
            name: Self::VARIABLE,
            value,
            expected: "an origin such as https://shop.example.com",
        })
    }

    pub fn header(&self) -> &HeaderValue {
        &self.0
    }

    /// Lets the storefront's pages read `response`.
    pub fn allow(&self, response: &mut Response<Body>) {
        self.allow_headers(response.headers_mut());
    }

    /// Lets the storefront's pages read the response with these headers.
    pub fn allow_headers(&self, headers: &mut lambda_http::http::HeaderMap) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, self.0.clone());
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Runs a handler inside the request's span: every log line carries the
/// correlation id, and so does every item it writes whose change leaves as
/// an event ([`shop_store::correlation`]); errors become problem documents,
/// and the response carries the correlation id back.
pub async fn respond<F, Fut>(req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let correlation_id = correlation_id(&req);
    let span = tracing::info_span!("request", correlation_id = %correlation_id, method = %req.method(), path = %req.uri().path());
    let scope = correlation_id.clone();
    let answer = async move {
        let started = Instant::now();
        let mut response = match handler(req).await {
            Ok(response) => response,
            Err(error) => {
                if let ApiError::Internal(cause) = &error {
                    tracing::error!(%cause, "request failed");
                }
                error.into_response()
            }
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&correlation_id) {
            headers.insert(CORRELATION_HEADER, value);
        }
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "answered"
        );
        response
    }
    .instrument(span);
    shop_store::correlation::scope(scope, answer).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_are_read_in_every_shape_api_gateway_uses() {
        assert_eq!(parse_groups(&json!("admin")), ["admin"]);
        assert_eq!(parse_groups(&json!("admin,ops")), ["admin", "ops"]);
        assert_eq!(parse_groups(&json!("[admin ops]")), ["admin", "ops"]);
        assert_eq!(parse_groups(&json!(["ops"])), ["ops"]);
    }

    #[test]
    fn limits_are_whole_numbers_within_bounds() {
        assert_eq!(parse_limit("10"), Ok(10));
        assert!(parse_limit("0").is_err());
        assert!(parse_limit("101").is_err());
        assert!(parse_limit("-1").is_err());
        assert!(parse_limit("2.5").is_err());
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(named_field("missing field `brand`"), Some("brand"));
        assert_eq!(named_field("invalid type: string"), None);
    }

    #[test]
    fn data_errors_lose_their_position_suffix() {
        assert_eq!(
            strip_position("invalid type: string \"x\", expected i64 at line 1 column 17"),
            "invalid type: string \"x\", expected i64"
        );
    }

    #[test]
    fn an_allowed_origin_is_a_scheme_a_host_and_a_port() {
        assert_eq!(
            AllowedOrigin::parse("https://shop.example.com/").unwrap().header(),
            "https://shop.example.com"
        );
        assert!(AllowedOrigin::parse("http://localhost:3001").is_ok());
        for bad in [
            "*",
            "shop.example.com",
            "https://",
            "https://shop.example.com/app",
            "ftp://x",
        ] {
            assert!(AllowedOrigin::parse(bad).is_err(), "{bad}");
        }
        let missing = AllowedOrigin::from_lookup(|_| None).unwrap_err();
        assert!(missing.to_string().contains("ALLOWED_ORIGIN"), "{missing}");
    }
}
