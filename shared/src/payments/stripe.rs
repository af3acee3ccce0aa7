//! Stripe's HTTP API: a charge is a PaymentIntent created and confirmed in one
//! call, a refund is a Refund of that PaymentIntent.
//!
//! Stripe keeps the first answer to each `Idempotency-Key` for 24 hours and
//! replays it, so passing the caller's key through is what makes a retried
//! checkout safe. The answers are sorted into [`PaymentError`] by who is at
//! fault: the card ([`PaymentError::Declined`]), Stripe or the network, where
//! the money may have moved ([`PaymentError::Unavailable`]), or our own
//! request ([`PaymentError::Rejected`]).

use super::{Charge, ChargeRequest, PaymentError, PaymentProvider, Refund};
use crate::store::error_chain;
use reqwest::StatusCode;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// Stripe's production API; tests point the provider at a local stub instead.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";

/// The API version every request asks for, so that a change to the account's
/// default version in Stripe's dashboard cannot change the answers we parse.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// Long enough for a slow TLS handshake, short enough to fail fast when
/// Stripe cannot be reached at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Stripe usually answers in well under a second; a Lambda that waits longer
/// only burns its own time budget.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an unreadable answer goes into an error message.
const BODY_EXCERPT_CHARS: usize = 200;

/// Charges and refunds through Stripe. Cheap to clone: clones share one
/// connection pool.
#[derive(Clone)]
pub struct StripeProvider {
    /// Built once and reused, so that warm Lambda invocations keep their TLS
    /// connections. Building can only fail if the TLS backend cannot start;
    /// rather than panic, every call then reports the reason as
    /// [`PaymentError::Rejected`].
    client: Result<reqwest::Client, String>,
    api_key: String,
    base_url: String,
    /// Applied to every request; overrides the client's own 10 s limit.
    timeout: Duration,
}

impl StripeProvider {
    /// A provider using the secret key `api_key` against `base_url`
    /// (normally [`DEFAULT_BASE_URL`]).
    pub fn new(api_key: impl Into<String>, base_url: impl Into<String>) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A redirect would turn the POST into a GET and hide a wrong base URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("could not build the HTTP client for Stripe: {}", error_chain(&e)));
        Self {
            client,
            api_key: api_key.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// Gives up on a request (connecting included) after `timeout` instead of
    /// 10 s; tests use this to keep a silent stub from slowing them down.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Posts `form` to `path` under the idempotency key `key` and returns the
    /// status and body, or `Unavailable` when no answer arrived in time.
    async fn post(&self, path: &str, key: &str, form: &[(&str, String)]) -> Result<Answer, PaymentError> {
        let client = self.client.as_ref().map_err(|e| PaymentError::Rejected(e.clone()))?;
        let response = client
            .post(format!("{}{path}", self.base_url))
            .timeout(self.timeout)
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", key)
            .header("Stripe-Version", STRIPE_VERSION)
            .form(form)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        // The timeout also covers reading the body, so a stalled body ends here too.
        let body = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }

    /// No answer means the money may or may not have moved: only a retry
    /// with the same key can tell, so this is `Unavailable`. The exception is
    /// a request we could not even build (a key that is not a valid header
    /// value): nothing was sent, and a retry would fail the same way.
    fn unreachable(&self, error: &reqwest::Error) -> PaymentError {
        if error.is_builder() {
            PaymentError::Rejected(format!("could not build the request to Stripe: {}", error_chain(error)))
        } else if error.is_timeout() {
            PaymentError::Unavailable(format!("Stripe did not answer within {:?}", self.timeout))
        } else {
            PaymentError::Unavailable(format!("could not reach Stripe: {}", error_chain(error)))
        }
    }
}

/// Written by hand so that the secret key never reaches a log line.
impl fmt::Debug for StripeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeProvider")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PaymentProvider for StripeProvider {
    async fn charge(&self, request: &ChargeRequest) -> Result<Charge, PaymentError> {
        let form = [
            ("amount", request.amount.amount.to_string()),
            ("currency", request.amount.currency.as_str().to_ascii_lowercase()),
            ("payment_method", request.payment_method.clone()),
            // Create and confirm in one call: the shopper is waiting for the answer.
            ("confirm", "true".to_owned()),
            // The checkout cannot follow a redirect (3-D Secure, bank pages), so
            // Stripe must not offer methods that need one.
            ("automatic_payment_methods[enabled]", "true".to_owned()),
            ("automatic_payment_methods[allow_redirects]", "never".to_owned()),
            ("description", request.description.clone()),
        ];
        let answer = self.post("/v1/payment_intents", &request.key, &form).await?;
        if !answer.status.is_success() {
            return Err(answer.error());
        }
        let intent: PaymentIntent = answer.parse("a PaymentIntent")?;
        if intent.status == "succeeded" {
            return Ok(Charge {
                id: intent.id,
                amount: request.amount,
            });
        }
        // `processing` may still end in a charge: the retry (same key) finds out.
        if intent.status == "processing" {
            return Err(PaymentError::Unavailable(format!(
                "payment {} is still processing",
                intent.id
            )));
        }
        // Anything else (`requires_action`, `requires_payment_method`, ...)
        // means the card was not charged without the shopper's help, which
        // this checkout cannot ask for.
        let message = intent
            .last_payment_error
            .and_then(|e| e.message)
            .unwrap_or_else(|| format!("the payment was not completed (status {})", intent.status));
        Err(PaymentError::Declined {
            code: intent.status,
            message,
        })
    }

    async fn refund(&self, key: &str, charge: &Charge) -> Result<Refund, PaymentError> {
        let form = [("payment_intent", charge.id.clone())];
        let answer = self.post("/v1/refunds", key, &form).await?;
        if answer.status.is_success() {
            let refund: StripeRefund = answer.parse("a Refund")?;
            return Ok(Refund { id: refund.id });
        }
        // Refunded earlier, e.g. under another key or from the dashboard: the
        // money is back with the shopper, which is all the caller wants.
        if answer.status == StatusCode::BAD_REQUEST
            && answer.stripe_error().code.as_deref() == Some("charge_already_refunded")
        {
            return Ok(Refund {
                id: format!("already-refunded:{}", charge.id),
            });
        }
        Err(answer.error())
    }
}

/// An HTTP answer from Stripe, read in full.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl Answer {
    /// Reads a success body. A 2xx we cannot read means Stripe did something
    /// we do not know about, so the money may have moved: `Unavailable`.
    fn parse<T: for<'de> Deserialize<'de>>(&self, what: &str) -> Result<T, PaymentError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PaymentError::Unavailable(format!(
                "Stripe answered {} with a body that is not {what} ({e}): {}",
                self.status,
                self.excerpt()
            ))
        })
    }

    /// Stripe's `error` object, or an empty one when the body has none (a
    /// proxy's HTML page, an empty body, unexpected types).
    fn stripe_error(&self) -> StripeError {
        serde_json::from_slice::<ErrorBody>(&self.body)
            .map(|b| b.error)
            .unwrap_or_default()
    }

    /// The error a non-2xx answer stands for.
    fn error(&self) -> PaymentError {
        let error = self.stripe_error();
        let message = error.message.clone().unwrap_or_else(|| self.excerpt());
        let described = format!("Stripe answered {}: {message}", self.status);
        match self.status {
            // Card errors: the issuer's reason is the most precise code.
            StatusCode::PAYMENT_REQUIRED => PaymentError::Declined {
                code: error
                    .decline_code
                    .or(error.code)
                    .unwrap_or_else(|| "card_declined".to_owned()),
                message,
            },
            // 409: a request with the same key is still running; 429: rate
            // limited. Both are worth a retry with the same key.
            StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS => PaymentError::Unavailable(described),
            s if s.is_server_error() => PaymentError::Unavailable(described),
            // 400 (including `idempotency_error`: a key reused with other
            // parameters), 401, 403, 404, ...: our request is wrong and a
            // retry would get the same answer.
            s if s.is_client_error() => PaymentError::Rejected(described),
            // 1xx and 3xx: Stripe never sends them, so the base URL is wrong.
            _ => PaymentError::Rejected(format!("unexpected answer from Stripe: {described}")),
        }
    }

    /// The start of the body, for error messages.
    fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.is_empty() {
            return "(empty body)".to_owned();
        }
        let mut excerpt: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
        if excerpt.len() < text.len() {
            excerpt.push('…');
        }
        excerpt
    }
}

/// `{"error": {...}}`, the shape of every Stripe error answer.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: StripeError,
}

/// Every field is optional: Stripe leaves out what does not apply.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StripeError {
    code: Option<String>,
    decline_code: Option<String>,
    message: Option<String>,
}

/// The part of a PaymentIntent the charge needs.
#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    #[serde(default)]
    last_payment_error: Option<StripeError>,
}

/// The part of a Refund the refund needs.
#[derive(Debug, Deserialize)]
struct StripeRefund {
    id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, Uri};
    use axum::response::{IntoResponse, Response};
    use serde_json::{Value, json};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    const API_KEY: &str = "sk_test_secret123";

    /// One request as the stub saw it.
    #[derive(Debug, Clone)]
    struct Recorded {
        method: Method,
        path: String,
        headers: HeaderMap,
        /// The form body's fields, in the order sent.
        form: Vec<(String, String)>,
    }

    impl Recorded {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).and_then(|v| v.to_str().ok())
        }

        fn form(&self) -> Vec<(&str, &str)> {
            self.form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
        }
    }

    /// What the stub answers.
    struct Canned {
        status: u16,
        body: String,
        delay: Duration,
    }

    fn json_answer(status: u16, body: Value) -> Canned {
        Canned {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    fn stripe_error(status: u16, error: Value) -> Canned {
        json_answer(status, json!({ "error": error }))
    }

    type Answerer = Arc<dyn Fn(&Recorded) -> Canned + Send + Sync>;

    #[derive(Clone)]
    struct StubState {
        requests: Arc<Mutex<Vec<Recorded>>>,
        answer: Answerer,
    }

    /// A local stand-in for Stripe that records every request.
    struct Stub {
        url: String,
        requests: Arc<Mutex<Vec<Recorded>>>,
    }

    impl Stub {
        async fn start(answer: impl Fn(&Recorded) -> Canned + Send + Sync + 'static) -> Self {
            let requests = Arc::new(Mutex::new(Vec::new()));
            let state = StubState {
                requests: requests.clone(),
                answer: Arc::new(answer),
            };
            let app = Router::new().fallback(record).with_state(state);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            Self { url, requests }
        }

        /// A stub that gives every request the same answer.
        async fn answering(status: u16, body: Value) -> Self {
            let body = body.to_string();
            Self::start(move |_| Canned {
                status,
                body: body.clone(),
                delay: Duration::ZERO,
            })
            .await
        }

        fn provider(&self) -> StripeProvider {
            StripeProvider::new(API_KEY, &self.url).with_timeout(Duration::from_millis(500))
        }

        fn requests(&self) -> Vec<Recorded> {
            self.requests.lock().unwrap().clone()
        }

        fn only_request(&self) -> Recorded {
            let requests = self.requests();
            assert_eq!(requests.len(), 1, "expected one request, got {requests:#?}");
            requests[0].clone()
        }
    }

    async fn record(
        State(state): State<StubState>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let recorded = Recorded {
            method,
            path: uri.path().to_owned(),
            headers,
            form: serde_urlencoded::from_bytes(&body).unwrap(),
        };
        let canned = (state.answer)(&recorded);
        state.requests.lock().unwrap().push(recorded);
        tokio::time::sleep(canned.delay).await;
        let status = axum::http::StatusCode::from_u16(canned.status).unwrap();
        (status, [("content-type", "application/json")], canned.body).into_response()
    }

    fn request(key: &str) -> ChargeRequest {
        ChargeRequest {
            key: key.to_owned(),
            amount: Money::new(1999, Currency::USD),
            payment_method: "pm_card_visa".to_owned(),
            description: "order 01JORDER".to_owned(),
        }
    }

    fn succeeded(id: &str) -> Value {
        json!({ "id": id, "object": "payment_intent", "status": "succeeded", "amount": 1999, "currency": "usd" })
    }

    fn charge() -> Charge {
        Charge {
            id: "pi_123".to_owned(),
            amount: Money::new(1999, Currency::USD),
        }
    }

    fn assert_stripe_headers(request: &Recorded, key: &str) {
        assert_eq!(request.header("authorization"), Some("Bearer sk_test_secret123"));
        assert_eq!(request.header("idempotency-key"), Some(key));
        assert_eq!(request.header("stripe-version"), Some("2024-06-20"));
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }

    #[tokio::test]
    async fn charge_creates_and_confirms_a_payment_intent() {
        let stub = Stub::answering(200, succeeded("pi_123")).await;

        let charge = stub.provider().charge(&request("key-1")).await;

        assert_eq!(
            charge,
            Ok(Charge {
                id: "pi_123".to_owned(),
                amount: Money::new(1999, Currency::USD)
            })
        );
        let sent = stub.only_request();
        assert_eq!(sent.method, Method::POST);
        assert_eq!(sent.path, "/v1/payment_intents");
        assert_stripe_headers(&sent, "key-1");
        assert_eq!(
            sent.form(),
            [
                ("amount", "1999"),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
                ("automatic_payment_methods[enabled]", "true"),
                ("automatic_payment_methods[allow_redirects]", "never"),
                ("description", "order 01JORDER"),
            ]
        );
    }

    #[tokio::test]
    async fn a_base_url_with_a_trailing_slash_still_reaches_the_api() {
        let stub = Stub::answering(200, succeeded("pi_123")).await;
        let provider = StripeProvider::new(API_KEY, format!("{}/", stub.url));

        assert!(provider.charge(&request("key-1")).await.is_ok());
        assert_eq!(stub.only_request().path, "/v1/payment_intents");
    }

    #[tokio::test]
    async fn charges_with_the_same_key_send_the_same_key_and_body() {
        let stub = Stub::answering(200, succeeded("pi_123")).await;
        let provider = stub.provider();

        let first = provider.charge(&request("key-1")).await;
        let second = provider.charge(&request("key-1")).await;
        let other = provider.charge(&request("key-2")).await;

        assert_eq!(first, second);
        assert!(other.is_ok());
        let sent = stub.requests();
        assert_eq!(sent.len(), 3);
        assert_stripe_headers(&sent[0], "key-1");
        assert_stripe_headers(&sent[1], "key-1");
        assert_stripe_headers(&sent[2], "key-2");
        assert_eq!(sent[0].form, sent[1].form);
    }

    #[tokio::test]
    async fn a_card_error_is_declined_with_the_issuers_reason() {
        let stub = Stub::start(|_| {
            stripe_error(
                402,
                json!({
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                }),
            )
        })
        .await;

        let mut request = request("key-1");
        request.payment_method = "pm_card_chargeDeclinedInsufficientFunds".to_owned();
        let result = stub.provider().charge(&request).await;

        assert_eq!(
            result,
            Err(PaymentError::Declined {
                code: "insufficient_funds".to_owned(),
                message: "Your card has insufficient funds.".to_owned(),
            })
        );
        let sent = stub.only_request();
        assert!(
            sent.form()
                .contains(&("payment_method", "pm_card_chargeDeclinedInsufficientFunds"))
        );
    }

    #[tokio::test]
    async fn a_card_error_without_a_decline_code_uses_the_error_code_or_card_declined() {
        let stub = Stub::answering(
            402,
            json!({ "error": { "type": "card_error", "code": "expired_card" } }),
        )
        .await;
        let result = stub.provider().charge(&request("key-1")).await;
        assert!(
            matches!(&result, Err(PaymentError::Declined { code, .. }) if code == "expired_card"),
            "{result:?}"
        );

        let stub = Stub::start(|_| Canned {
            status: 402,
            body: "Payment Required".to_owned(),
            delay: Duration::ZERO,
        })
        .await;
        let result = stub.provider().charge(&request("key-1")).await;
        assert_eq!(
            result,
            Err(PaymentError::Declined {
                code: "card_declined".to_owned(),
                message: "Payment Required".to_owned()
            })
        );
    }

    #[tokio::test]
    async fn a_payment_intent_that_needs_more_than_the_card_is_declined() {
        let processing = Stub::answering(200, json!({ "id": "pi_9", "status": "processing" })).await;
        let result = processing.provider().charge(&request("k")).await;
        assert!(matches!(result, Err(PaymentError::Unavailable(_))), "{result:?}");
        let stub = Stub::answering(200, json!({ "id": "pi_123", "status": "requires_action" })).await;
        let result = stub.provider().charge(&request("key-1")).await;
        assert!(
            matches!(&result, Err(PaymentError::Declined { code, .. }) if code == "requires_action"),
            "{result:?}"
        );

        let stub = Stub::answering(
            200,
            json!({
                "id": "pi_123",
                "status": "requires_payment_method",
                "last_payment_error": { "code": "card_declined", "message": "Your card was declined." },
            }),
        )
        .await;
        let result = stub.provider().charge(&request("key-1")).await;
        assert_eq!(
            result,
            Err(PaymentError::Declined {
                code: "requires_payment_method".to_owned(),
                message: "Your card was declined.".to_owned(),
            })
        );
    }

    #[tokio::test]
    async fn server_errors_rate_limits_and_concurrent_keys_are_unavailable() {
        for status in [500, 502, 503, 429, 409] {
            let stub = Stub::answering(
                status,
                json!({ "error": { "type": "api_error", "message": "try later" } }),
            )
            .await;
            let result = stub.provider().charge(&request("key-1")).await;
            assert!(
                matches!(&result, Err(PaymentError::Unavailable(m)) if m.contains(&status.to_string()) && m.contains("try later")),
                "{status}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_server_error_that_is_not_json_is_unavailable() {
        let stub = Stub::start(|_| Canned {
            status: 502,
            body: "<html>Bad Gateway</html>".to_owned(),
            delay: Duration::ZERO,
        })
        .await;
        let result = stub.provider().charge(&request("key-1")).await;
        assert!(
            matches!(&result, Err(PaymentError::Unavailable(m)) if m.contains("Bad Gateway")),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_success_we_cannot_read_is_unavailable() {
        let stub = Stub::start(|_| Canned {
            status: 200,
            body: "ok".to_owned(),
            delay: Duration::ZERO,
        })
        .await;
        let result = stub.provider().charge(&request("key-1")).await;
        assert!(matches!(result, Err(PaymentError::Unavailable(_))), "{result:?}");
    }

    #[tokio::test]
    async fn a_key_reused_with_other_parameters_is_rejected() {
        let stub = Stub::answering(
            400,
            json!({ "error": {
                "type": "idempotency_error",
                "message": "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            } }),
        )
        .await;
        let result = stub.provider().charge(&request("key-1")).await;
        assert!(
            matches!(&result, Err(PaymentError::Rejected(m)) if m.contains("same parameters")),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_bad_api_key_or_request_is_rejected() {
        for status in [401, 403, 404, 400] {
            let stub = Stub::answering(
                status,
                json!({ "error": { "type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****" } }),
            )
            .await;
            let result = stub.provider().charge(&request("key-1")).await;
            assert!(matches!(result, Err(PaymentError::Rejected(_))), "{status}: {result:?}");
        }
    }

    #[tokio::test]
    async fn a_stripe_that_does_not_answer_in_time_is_unavailable() {
        let stub = Stub::start(|_| Canned {
            status: 200,
            body: succeeded("pi_123").to_string(),
            delay: Duration::from_secs(5),
        })
        .await;
        let provider = stub.provider().with_timeout(Duration::from_millis(200));

        let started = Instant::now();
        let result = provider.charge(&request("key-1")).await;

        assert!(
            matches!(&result, Err(PaymentError::Unavailable(m)) if m.contains("did not answer")),
            "{result:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "took {:?}",
            started.elapsed()
        );
        assert_stripe_headers(&stub.only_request(), "key-1");
    }

    #[tokio::test]
    async fn a_stripe_that_cannot_be_reached_is_unavailable() {
        // A port that was free a moment ago: nothing listens there.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);

        let result = StripeProvider::new(API_KEY, url).charge(&request("key-1")).await;
        assert!(
            matches!(&result, Err(PaymentError::Unavailable(m)) if m.contains("could not reach Stripe")),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_key_that_cannot_be_a_header_is_rejected_without_sending() {
        let stub = Stub::answering(200, succeeded("pi_123")).await;
        let result = stub.provider().charge(&request("key\n1")).await;
        assert!(matches!(result, Err(PaymentError::Rejected(_))), "{result:?}");
        assert!(stub.requests().is_empty());
    }

    #[tokio::test]
    async fn refund_refunds_the_payment_intent_under_the_key() {
        let stub = Stub::answering(
            200,
            json!({ "id": "re_123", "object": "refund", "status": "succeeded" }),
        )
        .await;

        let refund = stub.provider().refund("refund-key-1", &charge()).await;

        assert_eq!(
            refund,
            Ok(Refund {
                id: "re_123".to_owned()
            })
        );
        let sent = stub.only_request();
        assert_eq!(sent.method, Method::POST);
        assert_eq!(sent.path, "/v1/refunds");
        assert_stripe_headers(&sent, "refund-key-1");
        assert_eq!(sent.form(), [("payment_intent", "pi_123")]);
    }

    #[tokio::test]
    async fn a_charge_already_refunded_counts_as_refunded() {
        let stub = Stub::answering(
            400,
            json!({ "error": {
                "type": "invalid_request_error",
                "code": "charge_already_refunded",
                "message": "Charge ch_123 has already been refunded.",
            } }),
        )
        .await;

        let refund = stub.provider().refund("refund-key-1", &charge()).await;

        assert_eq!(
            refund,
            Ok(Refund {
                id: "already-refunded:pi_123".to_owned()
            })
        );
        assert_stripe_headers(&stub.only_request(), "refund-key-1");
    }

    #[tokio::test]
    async fn refund_errors_are_mapped_like_charge_errors() {
        let stub = Stub::answering(
            400,
            json!({ "error": { "type": "invalid_request_error", "code": "resource_missing" } }),
        )
        .await;
        let result = stub.provider().refund("refund-key-1", &charge()).await;
        assert!(matches!(result, Err(PaymentError::Rejected(_))), "{result:?}");

        let stub = Stub::answering(500, json!({ "error": { "type": "api_error" } })).await;
        let result = stub.provider().refund("refund-key-1", &charge()).await;
        assert!(matches!(result, Err(PaymentError::Unavailable(_))), "{result:?}");

        let stub = Stub::answering(429, json!({ "error": { "type": "rate_limit_error" } })).await;
        let result = stub.provider().refund("refund-key-1", &charge()).await;
        assert!(matches!(result, Err(PaymentError::Unavailable(_))), "{result:?}");
    }

    #[test]
    fn debug_output_leaves_out_the_api_key() {
        let provider = StripeProvider::new(API_KEY, DEFAULT_BASE_URL);
        let debug = format!("{provider:?}");
        assert!(!debug.contains("secret123"), "{debug}");
        assert!(debug.contains("https://api.stripe.com"), "{debug}");
    }
}
