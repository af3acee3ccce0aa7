//! The local API Gateway: serves every route of template.yaml on one port,
//! verifies bearer tokens like the Cognito authorizer, builds the same REST
//! (v1) proxy event API Gateway sends, and calls the function's handler.

use crate::functions::{EventHandler, Handler};
use crate::pipeline::Writes;
use crate::token;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayProxyResponse};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lambda_http::request::LambdaRequest;
use shop_edge::http::AllowedOrigin;
use shop_edge::problem::ApiError;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

/// API Gateway refuses payloads over 10 MB before any function runs.
pub const MAX_PAYLOAD: usize = 10 * 1024 * 1024;
const STAGE: &str = "local";

/// One route: the function behind it and whether it needs a token.
#[derive(Clone)]
pub struct Route {
    pub resource: String,
    pub handler: RouteHandler,
    pub authorized: bool,
}

/// How a route's function is called: in this process with the request, or
/// (the Lambda rehearsal) with API Gateway's event, answering its response.
#[derive(Clone)]
pub enum RouteHandler {
    InProcess(Handler),
    Event(EventHandler),
}

/// Routes collected from the template, then served.
pub struct Gateway {
    routes: BTreeMap<String, HashMap<Method, Route>>,
    jwt_secret: String,
    origin: AllowedOrigin,
    writes: Writes,
}

struct Served {
    routes: matchit::Router<HashMap<Method, Route>>,
    jwt_secret: String,
    origin: AllowedOrigin,
    writes: Writes,
}

impl Gateway {
    /// A gateway whose CORS answers let `origin` (the storefront's) read
    /// them, and which tells `writes` when it has served a write.
    pub fn new(jwt_secret: String, origin: AllowedOrigin, writes: Writes) -> Self {
        Self {
            routes: BTreeMap::new(),
            jwt_secret,
            origin,
            writes,
        }
    }

    pub fn add(&mut self, method: &str, path: &str, route: Route) -> anyhow::Result<()> {
        let method = Method::from_bytes(method.as_bytes())?;
        if self
            .routes
            .entry(path.to_owned())
            .or_default()
            .insert(method.clone(), route)
            .is_some()
        {
            anyhow::bail!("two functions serve {method} {path}");
        }
        Ok(())
    }

    /// The HTTP service; API Gateway's `{param}` path syntax is matchit's too.
    pub fn router(self) -> anyhow::Result<axum::Router> {
        let mut routes = matchit::Router::new();
        for (path, methods) in self.routes {
            routes.insert(path, methods)?;
        }
        Ok(axum::Router::new()
            .fallback(dispatch)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_PAYLOAD))
            .with_state(Arc::new(Served {
                routes,
                jwt_secret: self.jwt_secret,
                origin: self.origin,
                writes: self.writes,
            })))
    }
}

/// The gateway's own refusals, shaped like the template's GatewayResponses.
fn problem(error: ApiError, origin: &AllowedOrigin, correlation_id: &str) -> Response {
    let mut response = error.into_response();
    origin.allow(&mut response);
    let mut response = lambda_to_axum(response);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(correlation_id) {
        headers.insert(shop_edge::http::CORRELATION_HEADER, value);
    }
    response
}

fn lambda_to_axum(response: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The CORS preflight answer, as the template's `Cors` section configures it.
fn preflight(origin: &AllowedOrigin) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.header().clone());
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization,Content-Type,Idempotency-Key,X-Correlation-Id"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,POST,PUT,PATCH,DELETE,OPTIONS"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

/// The claims of a valid bearer token, as strings, the way the Cognito
/// authorizer hands them to the function.
fn authorize(secret: &str, headers: &HeaderMap) -> Option<serde_json::Map<String, serde_json::Value>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    let claims = token::verify(secret, token).ok()?;
    let mut map = serde_json::Map::new();
    map.insert("sub".into(), claims.sub.into());
    map.insert("exp".into(), claims.exp.to_string().into());
    map.insert("iat".into(), claims.iat.to_string().into());
    map.insert("iss".into(), claims.iss.into());
    map.insert("aud".into(), claims.aud.into());
    if !claims.groups.is_empty() {
        map.insert("cognito:groups".into(), claims.groups.join(",").into());
    }
    Some(map)
}

async fn dispatch(
    State(gateway): State<Arc<Served>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let request_id = ulid::Ulid::new().to_string();
    let correlation_id = shop_edge::http::client_correlation_id(&headers).unwrap_or_else(|| request_id.clone());
    let Ok(matched) = gateway.routes.at(path) else {
        return problem(ApiError::not_found("route", path), &gateway.origin, &correlation_id);
    };
    if method == Method::OPTIONS {
        return preflight(&gateway.origin);
    }
    let Some(route) = matched.value.get(&method) else {
        return problem(
            ApiError::not_found("route", format!("{method} {path}")),
            &gateway.origin,
            &correlation_id,
        );
    };

    let mut context = ApiGatewayProxyRequestContext::default();
    if route.authorized {
        match authorize(&gateway.jwt_secret, &headers) {
            Some(claims) => {
                context
                    .authorizer
                    .fields
                    .insert("claims".into(), serde_json::Value::Object(claims));
            }
            None => return problem(ApiError::Unauthorized, &gateway.origin, &correlation_id),
        }
    }
    let params: HashMap<String, String> = matched
        .params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();

    context.stage = Some(STAGE.into());
    context.request_id = Some(request_id);
    context.resource_path = Some(route.resource.clone());
    context.path = Some(path.to_owned());
    context.http_method = method.clone();
    context.identity.source_ip = Some(peer.ip().to_string());
    context.request_time_epoch = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;

    let mut event = ApiGatewayProxyRequest::default();
    event.resource = Some(route.resource.clone());
    event.path = Some(path.to_owned());
    event.http_method = method;
    event.headers = headers.clone();
    event.multi_value_headers = headers;
    event.query_string_parameters = uri.query().unwrap_or_default().parse().unwrap_or_default();
    event.multi_value_query_string_parameters = event.query_string_parameters.clone();
    event.path_parameters = params;
    event.request_context = context;
    if !body.is_empty() {
        match std::str::from_utf8(&body) {
            Ok(text) => event.body = Some(text.to_owned()),
            Err(_) => {
                event.body = Some(base64::engine::general_purpose::STANDARD.encode(&body));
                event.is_base64_encoded = true;
            }
        }
    }
    let writes = !event.http_method.is_safe();
    let response = match &route.handler {
        RouteHandler::InProcess(handler) => {
            let request: lambda_http::Request = LambdaRequest::ApiGatewayV1(event).into();
            lambda_to_axum(handler(request).await)
        }
        RouteHandler::Event(handler) => {
            let mut response = proxy_to_axum(handler(event).await);
            if response.status() == StatusCode::BAD_GATEWAY {
                // The template's Default5xx gateway response adds CORS.
                gateway.origin.allow_headers(response.headers_mut());
            }
            response
        }
    };
    if writes {
        gateway.writes.served();
    }
    response
}

/// API Gateway's answer from a Lambda proxy integration's response: its
/// status, its headers (the multi-value ones as lambda_http writes them for
/// a REST API) and its body, decoded if base64.
fn proxy_to_axum(answer: ApiGatewayProxyResponse) -> Response {
    let mut headers = answer.multi_value_headers;
    for (name, value) in &answer.headers {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    let bytes = match answer.body {
        Some(lambda_http::Body::Text(text)) if answer.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Bytes::from)
            .unwrap_or_default(),
        Some(lambda_http::Body::Text(text)) => Bytes::from(text),
        Some(lambda_http::Body::Binary(data)) => Bytes::from(data),
        _ => Bytes::new(),
    };
    let mut response = Response::new(axum::body::Body::from(bytes));
    *response.status_mut() = StatusCode::from_u16(answer.status_code as u16).unwrap_or(StatusCode::BAD_GATEWAY);
    *response.headers_mut() = headers;
    response
}
