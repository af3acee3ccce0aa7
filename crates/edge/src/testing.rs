//! API Gateway requests for handlers' unit tests (feature `testing`), shaped
//! as API Gateway's REST API and the local gateway send them: path
//! parameters, query string, JSON body and the Cognito authorizer's claims.

use crate::http::{Body, Request, Response};
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::request::LambdaRequest;
use serde_json::{Value, json};

/// A request being built.
#[derive(Debug, Clone)]
pub struct TestRequest {
    event: ApiGatewayProxyRequest,
}

impl TestRequest {
    pub fn new(method: Method, path: &str) -> Self {
        let mut event = ApiGatewayProxyRequest::default();
        event.http_method = method;
        event.path = Some(path.to_owned());
        Self { event }
    }

    pub fn path_param(mut self, name: &str, value: &str) -> Self {
        self.event.path_parameters.insert(name.to_owned(), value.to_owned());
        self
    }

    /// A query string such as `limit=5&page=2`.
    pub fn query(mut self, query: &str) -> Self {
        self.event.query_string_parameters = query.parse().unwrap_or_default();
        self.event.multi_value_query_string_parameters = self.event.query_string_parameters.clone();
        self
    }

    pub fn json(mut self, body: &str) -> Self {
        let json = HeaderValue::from_static("application/json");
        self.event.headers.insert(header::CONTENT_TYPE, json.clone());
        self.event.multi_value_headers.insert(header::CONTENT_TYPE, json);
        self.event.body = Some(body.to_owned());
        self
    }

    /// Signed in as `user` (the token's `sub`).
    pub fn as_user(self, user: &str) -> Self {
        self.claims(json!({ "sub": user }))
    }

    /// Signed in as `user`, a member of the `admin` group.
    pub fn as_admin(self, user: &str) -> Self {
        self.claims(json!({ "sub": user, "cognito:groups": "admin" }))
    }

    fn claims(mut self, claims: Value) -> Self {
        self.event
            .request_context
            .authorizer
            .fields
            .insert("claims".into(), claims);
        self
    }

    pub fn build(self) -> Request {
        LambdaRequest::ApiGatewayV1(self.event).into()
    }
}

/// A response's status and JSON body (`null` when empty).
pub fn answer(response: &Response<Body>) -> (u16, Value) {
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::String(text.clone())),
        Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (response.status().as_u16(), body)
}

/// The `field` names of a 400 problem's `errors`.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
