//! `ApiClient`: a small client for the storefront's public HTTP API, the
//! local stack's or a deployed one's, used by `devstack import` (and by
//! anything else that drives a stack from outside, such as smoke tests).
//!
//! - one base URL (`http://127.0.0.1:3000`, `https://…/prod`) and an optional
//!   bearer token (a Cognito ID token in AWS, `devstack token` locally);
//! - JSON in and out: [`ApiClient::get_json`], [`ApiClient::put_json`],
//!   [`ApiClient::post_json`] return the decoded body of a 2xx answer and a
//!   [`ClientError`] otherwise, whose message carries the problem+json
//!   `code`, `detail` and field errors; [`ApiClient::send`] returns any
//!   answer as it came ([`Answer`]), for callers that look at the status;
//! - retries with jittered exponential backoff ([`RetryPolicy`]): a 429 (the
//!   deployed API's throttle) is always retried, honouring `Retry-After`; a
//!   failure to connect is always retried (nothing was sent); 502, 503, 504
//!   and a connection broken mid-request are retried only for requests that
//!   are safe to repeat: GET, HEAD, PUT, DELETE, and any request carrying an
//!   `Idempotency-Key` header.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use devstack::client::ApiClient;
//! let api = ApiClient::new("http://127.0.0.1:3000")?.with_token("eyJ…");
//! let tree: serde_json::Value = api.get_json("/categories").await?;
//! let answer = api.send(reqwest::Method::GET, "/products/P0000001", None, &[]).await?;
//! assert_eq!(answer.status, 200);
//! # Ok(()) }
//! ```

use anyhow::bail;
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 = never retry).
    pub attempts: u32,
    /// The backoff before the first retry; it doubles with each retry.
    pub first_delay: Duration,
    /// The longest wait between two tries (a `Retry-After` is honoured up
    /// to this too).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 tries, waiting about 0.2, 0.4, 0.8, … up to 10 s between them
    /// (about a minute in all before giving up).
    fn default() -> Self {
        Self {
            attempts: 8,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (0-based): full jitter over an
    /// exponentially growing window, at least `retry_after` if the server
    /// asked for it, never more than `max_delay`.
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let window = self.first_delay.saturating_mul(1 << retry.min(16)).min(self.max_delay);
        let jittered = window.mul_f64(rand::rng().random_range(0.5..=1.0));
        retry_after
            .map_or(jittered, |at_least| jittered.max(at_least))
            .min(self.max_delay)
    }
}

/// A client of the storefront API. Cheap to clone; clones share the
/// connection pool and the request counter.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
    retry: RetryPolicy,
    sent: Arc<AtomicU64>,
}

/// An answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON; `Null` if empty, a JSON string if it is not JSON.
    pub body: Value,
    /// How many tries it took (1 = no retry).
    pub attempts: u32,
}

impl Answer {
    /// The problem document of an error answer, if the body is one.
    pub fn problem(&self) -> Option<Problem> {
        Problem::from_body(&self.body)
    }

    /// The `x-correlation-id` the API answered with (quote it in bug reports).
    pub fn correlation_id(&self) -> Option<&str> {
        self.headers.get("x-correlation-id").and_then(|v| v.to_str().ok())
    }
}

/// The parts of an `application/problem+json` answer a caller reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    /// The stable code (`VALIDATION_FAILED`, `NOT_FOUND`, …).
    pub code: Option<String>,
    pub detail: Option<String>,
    /// `(field, message)` of a validation problem.
    pub errors: Vec<(String, String)>,
}

impl Problem {
    fn from_body(body: &Value) -> Option<Self> {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let object = body.as_object()?;
        let problem = Self {
            code: object.get("code").and_then(text),
            // API Gateway's own refusals (throttling, a bad token) say `message`.
            detail: object.get("detail").or_else(|| object.get("message")).and_then(text),
            errors: object
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| {
                    errors
                        .iter()
                        .map(|e| {
                            (
                                e["field"].as_str().unwrap_or_default().to_owned(),
                                e["message"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        (problem.code.is_some() || problem.detail.is_some()).then_some(problem)
    }
}

impl fmt::Display for Problem {
    /// `CODE: detail`, and the field errors the detail does not already name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = self.detail.as_deref().unwrap_or("");
        match &self.code {
            Some(code) if !detail.is_empty() => write!(f, "{code}: {detail}")?,
            Some(code) => write!(f, "{code}")?,
            None => write!(f, "{detail}")?,
        }
        for (field, message) in &self.errors {
            if !detail.contains(message.as_str()) {
                write!(f, "; {field}: {message}")?;
            }
        }
        Ok(())
    }
}

/// Why a request did not give the answer the caller wanted.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer: the connection failed (after the retries it was allowed).
    #[error("{method} {url}: no answer after {attempts} tries: {}", shop_domain::report::error_chain(.error))]
    Transport {
        method: Method,
        url: String,
        attempts: u32,
        /// What went wrong on the last try (its causes are in the message).
        error: reqwest::Error,
    },
    /// An answer other than 2xx (after the retries it was allowed).
    #[error("{method} {path} answered {}{}{}", .answer.status, describe_problem(.answer), describe_correlation(.answer))]
    Status {
        method: Method,
        path: String,
        answer: Box<Answer>,
    },
    /// A 2xx answer whose body is not what the caller expected.
    #[error("{method} {path}: unexpected body: {message}")]
    Decode {
        method: Method,
        path: String,
        message: String,
    },
}

fn describe_problem(answer: &Answer) -> String {
    match answer.problem() {
        Some(problem) => format!(": {problem}"),
        None if answer.body.is_null() => String::new(),
        None => {
            let text = answer.body.to_string();
            format!(": {}", text.chars().take(300).collect::<String>())
        }
    }
}

fn describe_correlation(answer: &Answer) -> String {
    answer
        .correlation_id()
        .map(|id| format!(" (correlation id {id})"))
        .unwrap_or_default()
}

impl ClientError {
    /// The answer's status, if there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { answer, .. } => Some(answer.status),
            _ => None,
        }
    }

    /// The answer's problem document, if there is one.
    pub fn problem(&self) -> Option<Problem> {
        match self {
            Self::Status { answer, .. } => answer.problem(),
            _ => None,
        }
    }
}

/// Whether `url`'s host is a loopback address (`127.0.0.0/8`, `::1`,
/// `localhost`): the local stack, where devstack may mint its own tokens.
pub fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn idempotent(method: &Method, headers: &[(&str, &str)]) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    ) || headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("idempotency-key"))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl ApiClient {
    /// A client of the API at `base_url` (scheme, host and any stage path,
    /// e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod`), without
    /// a token, with the default [`RetryPolicy`] and a 30 s timeout per try.
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        let parsed = reqwest::Url::parse(base_url).map_err(|e| anyhow::anyhow!("the API URL {base_url:?}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            bail!("the API URL {base_url:?} must be http:// or https:// with a host");
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("storefront-devstack/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: None,
            retry: RetryPolicy::default(),
            sent: Arc::default(),
        })
    }

    /// The same client sending `token` as its bearer token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The same client retrying as `policy` says.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// HTTP requests sent so far by this client and its clones, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends `method path` (path from the base URL, with its query, e.g.
    /// `/products/P1?x=1`) with an optional JSON body and extra headers, and
    /// returns the answer whatever its status, after the retries the
    /// [`RetryPolicy`] allows. `Err` only when no answer came.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, ClientError> {
        let url = format!("{}{path}", self.base_url);
        let safe_to_repeat = idempotent(&method, headers);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.attempts.max(1);
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header("accept", "application/json, application/problem+json");
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            self.sent.fetch_add(1, Ordering::Relaxed);
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (safe_to_repeat
                            && matches!(
                                status,
                                StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                            ));
                    let response_headers = response.headers().clone();
                    if retryable && !last {
                        tokio::time::sleep(self.retry.delay(attempt - 1, retry_after(&response_headers))).await;
                        continue;
                    }
                    match response.text().await {
                        Ok(text) => {
                            let body = if text.trim().is_empty() {
                                Value::Null
                            } else {
                                serde_json::from_str(&text).unwrap_or(Value::String(text))
                            };
                            return Ok(Answer {
                                status,
                                headers: response_headers,
                                body,
                                attempts: attempt,
                            });
                        }
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            // Not connecting means nothing was sent; anything else may have
            // reached the API, so only a request safe to repeat is retried.
            if last || !(failure.is_connect() || safe_to_repeat) {
                return Err(ClientError::Transport {
                    method,
                    url,
                    attempts: attempt,
                    error: failure,
                });
            }
            tokio::time::sleep(self.retry.delay(attempt - 1, None)).await;
        }
    }

    /// Sends the request and decodes a 2xx answer's body as `T`; any other
    /// status is a [`ClientError::Status`].
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ClientError> {
        let answer = self.send(method.clone(), path, body, &[]).await?;
        if !answer.status.is_success() {
            return Err(ClientError::Status {
                method,
                path: path.to_owned(),
                answer: Box::new(answer),
            });
        }
        serde_json::from_value(answer.body).map_err(|e| ClientError::Decode {
            method,
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// `GET path`, decoding a 2xx answer as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.json(Method::GET, path, None).await
    }

    /// `PUT path` with `body` as JSON, decoding a 2xx answer as `T`.
    pub async fn put_json<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ClientError> {
        let body = to_value(&Method::PUT, path, body)?;
        self.json(Method::PUT, path, Some(&body)).await
    }

    /// `POST path` with `body` as JSON, decoding a 2xx answer as `T`.
    pub async fn post_json<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ClientError> {
        let body = to_value(&Method::POST, path, body)?;
        self.json(Method::POST, path, Some(&body)).await
    }
}

fn to_value(method: &Method, path: &str, body: &impl Serialize) -> Result<Value, ClientError> {
    serde_json::to_value(body).map_err(|e| ClientError::Decode {
        method: method.clone(),
        path: path.to_owned(),
        message: format!("the request body: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:3000"));
        assert!(is_loopback("http://localhost:3000/"));
        assert!(is_loopback("http://[::1]:3000"));
        assert!(!is_loopback("https://abc.execute-api.eu-west-1.amazonaws.com/prod"));
        assert!(!is_loopback("not a url"));
    }

    #[test]
    fn only_requests_safe_to_repeat_are_retried_after_a_broken_connection() {
        assert!(idempotent(&Method::PUT, &[]));
        assert!(idempotent(&Method::GET, &[]));
        assert!(!idempotent(&Method::POST, &[]));
        assert!(idempotent(&Method::POST, &[("Idempotency-Key", "k")]));
    }

    #[test]
    fn the_backoff_grows_is_capped_and_honours_retry_after() {
        let policy = RetryPolicy::default();
        assert!(policy.delay(0, None) <= Duration::from_millis(200));
        assert!(policy.delay(3, None) >= Duration::from_millis(800));
        assert_eq!(policy.delay(30, Some(Duration::from_secs(60))), policy.max_delay);
        assert!(policy.delay(0, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
    }

    /// A server that answers `statuses` in turn (then 200), counting requests.
    async fn server(statuses: Vec<u16>) -> (String, Arc<AtomicU64>) {
        let hits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&hits);
        let app = axum::Router::new().fallback(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) as usize;
            let status = statuses.get(n).copied().unwrap_or(200);
            async move {
                let status = axum::http::StatusCode::from_u16(status).unwrap();
                let body = serde_json::json!({ "code": "X", "detail": format!("answer {n}") }).to_string();
                (status, [("retry-after", "0")], body)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, hits)
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        }
    }

    #[tokio::test]
    async fn throttled_and_unavailable_answers_are_retried_with_backoff() {
        let (url, hits) = server(vec![429, 503, 429]).await;
        let api = ApiClient::new(&url).unwrap().with_retry(quick());
        let answer = api
            .send(Method::PUT, "/x", Some(&serde_json::json!({})), &[])
            .await
            .unwrap();
        assert_eq!((answer.status, answer.attempts), (StatusCode::OK, 4));
        assert_eq!(hits.load(Ordering::SeqCst), 4);
        assert_eq!(api.requests_sent(), 4);
    }

    #[tokio::test]
    async fn a_post_is_retried_after_a_throttle_but_not_after_a_503() {
        let (url, hits) = server(vec![429, 503]).await;
        let api = ApiClient::new(&url).unwrap().with_retry(quick());
        let error = api
            .post_json::<Value>("/orders", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert!(error.to_string().contains("X: answer 1"), "{error}");
    }

    #[tokio::test]
    async fn giving_up_returns_the_last_answer() {
        let (url, _) = server(vec![429; 10]).await;
        let api = ApiClient::new(&url).unwrap().with_retry(quick());
        let answer = api.send(Method::GET, "/x", None, &[]).await.unwrap();
        assert_eq!((answer.status, answer.attempts), (StatusCode::TOO_MANY_REQUESTS, 4));
    }

    #[test]
    fn a_problem_reads_as_code_detail_and_the_fields_it_does_not_name() {
        let body = serde_json::json!({
            "code": "VALIDATION_FAILED",
            "detail": "invalid request: price.amount: must be between 1 and 100000000 minor units",
            "errors": [
                { "field": "price.amount", "message": "must be between 1 and 100000000 minor units" },
                { "field": "title", "message": "must not be empty" },
            ],
        });
        let problem = Problem::from_body(&body).unwrap();
        assert_eq!(
            problem.to_string(),
            "VALIDATION_FAILED: invalid request: price.amount: must be between 1 and 100000000 minor units; title: must not be empty"
        );
        let throttled = Problem::from_body(&serde_json::json!({ "message": "Too Many Requests" })).unwrap();
        assert_eq!(throttled.to_string(), "Too Many Requests");
    }
}
