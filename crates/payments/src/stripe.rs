//! Stripe's HTTP API: a payment is a PaymentIntent, created (under the
//! caller's idempotency key, so a retried creation names the same intent)
//! and then confirmed; a refund is a Refund of that PaymentIntent.
//!
//! Stripe keeps the first answer to each `Idempotency-Key` for 24 hours and
//! replays it, a 5xx included, so sending the same request again never
//! tells what happened. After an answer that did not arrive, or that says
//! the intent is in another state than expected, this adapter reads the
//! PaymentIntent back (`GET /v1/payment_intents/{id}`, with its latest
//! charge, which says whether it was refunded). Confirming, cancelling and
//! refunding are safe to send again with a fresh key: an intent is charged
//! at most once, a cancelled one never, and a refund beyond the amount
//! charged is refused (`charge_already_refunded`). Errors are sorted by who
//! is at fault: Stripe or the network, where something may have happened
//! ([`PaymentError::Unavailable`]), or our own request
//! ([`PaymentError::Rejected`]); a refused card is a
//! [`PaymentState::Declined`] answer, not an error.

use super::PaymentProvider;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use shop_domain::money::{Currency, Money};
use shop_domain::payment::{Payment, PaymentError, PaymentId, PaymentRequest, PaymentState, PaymentTags, Refund};
use shop_domain::report::error_chain;
use shop_domain::time::Timestamp;
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
        self.send(Method::POST, path, Some(key), form).await
    }

    /// `GET path?query`.
    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Answer, PaymentError> {
        self.send(Method::GET, path, None, query).await
    }

    /// Sends one request: `params` as the form body of a POST, as the query
    /// of a GET.
    async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        params: &[(&str, String)],
    ) -> Result<Answer, PaymentError> {
        let client = self.client.as_ref().map_err(|e| PaymentError::Rejected(e.clone()))?;
        let mut request = client
            .request(method.clone(), format!("{}{path}", self.base_url))
            .timeout(self.timeout)
            .bearer_auth(&self.api_key)
            .header("Stripe-Version", STRIPE_VERSION);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request = if method == Method::GET {
            request.query(params)
        } else {
            request.form(params)
        };
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        // The timeout also covers reading the body, so a stalled body ends here too.
        let body = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }

    /// No answer means the money may or may not have moved: only reading the
    /// PaymentIntent back can tell, so this is `Unavailable`. The exception is
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

/// A fresh idempotency key for a request that is safe to send again with
/// another key (confirming, cancelling, refunding): Stripe would replay a
/// lost answer to the same key, so every try gets its own.
fn fresh_key(what: &str, payment: &PaymentId) -> String {
    format!("{what}_{payment}_{}", ulid::Ulid::new())
}

fn intent_path(payment: &PaymentId) -> Result<String, PaymentError> {
    // An id goes into the path: refuse anything that could leave it.
    let id = payment.as_str();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(PaymentError::Rejected(format!("{id:?} is not a PaymentIntent id")));
    }
    Ok(format!("/v1/payment_intents/{id}"))
}

impl StripeProvider {
    /// Reads an intent back, with its latest charge (which says whether it
    /// was refunded).
    async fn intent(&self, payment: &PaymentId) -> Result<PaymentIntent, PaymentError> {
        let answer = self
            .get(&intent_path(payment)?, &[("expand[]", "latest_charge".to_owned())])
            .await?;
        if !answer.status.is_success() {
            return Err(answer.error());
        }
        answer.parse("a PaymentIntent")
    }

    /// The state an answer to a confirm or a cancel reports; an answer that
    /// says the intent is in another state, or no answer, is read back.
    async fn state_after(
        &self,
        payment: &PaymentId,
        answer: Result<Answer, PaymentError>,
    ) -> Result<PaymentState, PaymentError> {
        let answer = match answer {
            Ok(answer) => answer,
            Err(PaymentError::Unavailable(_)) => return Ok(self.intent(payment).await?.state()),
            Err(error) => return Err(error),
        };
        if answer.status.is_success() {
            let intent: PaymentIntent = answer.parse("a PaymentIntent")?;
            // The answer to a confirm or cancel does not expand the charge:
            // a succeeded intent is read back to learn about refunds.
            if intent.status == "succeeded" {
                return Ok(self.intent(payment).await?.state());
            }
            return Ok(intent.state());
        }
        let error = answer.stripe_error();
        if answer.status == StatusCode::PAYMENT_REQUIRED {
            // A card error: the intent now waits for another payment method.
            return Ok(PaymentState::Declined {
                code: error
                    .decline_code
                    .or(error.code)
                    .unwrap_or_else(|| "card_declined".to_owned()),
                message: error.message.unwrap_or_else(|| answer.excerpt()),
            });
        }
        let unexpected = error.code.as_deref() == Some("payment_intent_unexpected_state");
        if unexpected
            || answer.status.is_server_error()
            || matches!(answer.status, StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS)
        {
            return Ok(self.intent(payment).await?.state());
        }
        Err(answer.error())
    }
}

impl PaymentProvider for StripeProvider {
    async fn create(&self, request: &PaymentRequest) -> Result<PaymentId, PaymentError> {
        let form = [
            ("amount", request.amount.amount.to_string()),
            ("currency", request.amount.currency.as_str().to_ascii_lowercase()),
            ("payment_method", request.payment_method.clone()),
            // The checkout cannot follow a redirect (3-D Secure, bank pages), so
            // Stripe must not offer methods that need one.
            ("automatic_payment_methods[enabled]", "true".to_owned()),
            ("automatic_payment_methods[allow_redirects]", "never".to_owned()),
            ("description", request.description.clone()),
            ("metadata[order_id]", request.tags.order_id.clone()),
            ("metadata[user_id]", request.tags.user_id.clone()),
            ("metadata[checkout_key]", request.tags.checkout_key.clone()),
        ];
        let answer = self.post("/v1/payment_intents", &request.key, &form).await?;
        if !answer.status.is_success() {
            return Err(answer.error());
        }
        let intent: PaymentIntent = answer.parse("a PaymentIntent")?;
        Ok(PaymentId::new(intent.id))
    }

    async fn confirm(&self, payment: &PaymentId) -> Result<PaymentState, PaymentError> {
        let path = format!("{}/confirm", intent_path(payment)?);
        let answer = self.post(&path, &fresh_key("confirm", payment), &[]).await;
        self.state_after(payment, answer).await
    }

    async fn retrieve(&self, payment: &PaymentId) -> Result<Payment, PaymentError> {
        self.intent(payment).await?.payment()
    }

    async fn cancel(&self, payment: &PaymentId) -> Result<PaymentState, PaymentError> {
        let path = format!("{}/cancel", intent_path(payment)?);
        let answer = self.post(&path, &fresh_key("cancel", payment), &[]).await;
        self.state_after(payment, answer).await
    }

    async fn refund(&self, payment: &PaymentId) -> Result<Refund, PaymentError> {
        intent_path(payment)?;
        let form = [("payment_intent", payment.as_str().to_owned())];
        let error = match self.post("/v1/refunds", &fresh_key("refund", payment), &form).await {
            Ok(answer) if answer.status.is_success() => {
                let refund: StripeRefund = answer.parse("a Refund")?;
                return Ok(Refund { id: refund.id });
            }
            // Refunded earlier, e.g. by an earlier try or from the dashboard:
            // the money is back with the shopper, which is all the caller wants.
            Ok(answer)
                if answer.status == StatusCode::BAD_REQUEST
                    && answer.stripe_error().code.as_deref() == Some("charge_already_refunded") =>
            {
                return Ok(Refund {
                    id: format!("already-refunded:{payment}"),
                });
            }
            Ok(answer) => answer.error(),
            Err(error) => error,
        };
        // No answer, or a busy one: read the intent back; refunded means
        // the refund went through.
        match error {
            PaymentError::Unavailable(why) => match self.intent(payment).await?.state() {
                PaymentState::Refunded => Ok(Refund {
                    id: format!("already-refunded:{payment}"),
                }),
                _ => Err(PaymentError::Unavailable(why)),
            },
            rejected => Err(rejected),
        }
    }

    async fn list(&self, since: Timestamp) -> Result<Vec<Payment>, PaymentError> {
        let mut payments = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![
                ("created[gte]", since.unix_timestamp().to_string()),
                ("limit", "100".to_owned()),
                ("expand[]", "data.latest_charge".to_owned()),
            ];
            if let Some(last) = &after {
                query.push(("starting_after", last.clone()));
            }
            let answer = self.get("/v1/payment_intents", &query).await?;
            if !answer.status.is_success() {
                return Err(answer.error());
            }
            let page: IntentList = answer.parse("a list of PaymentIntents")?;
            after = page.data.last().map(|intent| intent.id.clone());
            for intent in page.data {
                payments.push(intent.payment()?);
            }
            if !page.has_more || after.is_none() {
                return Ok(payments);
            }
        }
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
            // 409: a request with the same key is still running; 429: rate
            // limited. Both may have done something: read it back.
            StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS => PaymentError::Unavailable(described),
            s if s.is_server_error() => PaymentError::Unavailable(described),
            // 400 (including `idempotency_error`: a key reused with other
            // parameters), 401, 403, 404, 402 outside a confirmation, ...:
            // our request is wrong and a retry would get the same answer.
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

/// The part of a PaymentIntent the shop reads.
#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    last_payment_error: Option<StripeError>,
    /// An id, or the charge itself when expanded.
    #[serde(default)]
    latest_charge: Option<LatestCharge>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LatestCharge {
    Expanded {
        #[serde(default)]
        refunded: bool,
        #[serde(default)]
        amount_refunded: i64,
    },
    Id(serde::de::IgnoredAny),
}

impl PaymentIntent {
    /// What Stripe's status means for the shop. A refund shows on the
    /// intent's charge, not on its status (which stays `succeeded`).
    fn state(&self) -> PaymentState {
        match self.status.as_str() {
            "succeeded" => match &self.latest_charge {
                Some(LatestCharge::Expanded {
                    refunded,
                    amount_refunded,
                }) if *refunded || *amount_refunded >= self.amount => PaymentState::Refunded,
                _ => PaymentState::Succeeded,
            },
            "processing" | "requires_capture" => PaymentState::Processing,
            "canceled" => PaymentState::Cancelled,
            "requires_confirmation" => PaymentState::Unconfirmed,
            "requires_payment_method" if self.last_payment_error.is_none() => PaymentState::Unconfirmed,
            // A refused card, or an intent that needs the shopper's help
            // (`requires_action`), which this checkout cannot ask for.
            other => {
                let error = self.last_payment_error.as_ref();
                PaymentState::Declined {
                    code: error
                        .and_then(|e| e.decline_code.clone().or_else(|| e.code.clone()))
                        .unwrap_or_else(|| other.to_owned()),
                    message: error
                        .and_then(|e| e.message.clone())
                        .unwrap_or_else(|| format!("the payment was not completed (status {other})")),
                }
            }
        }
    }

    fn payment(&self) -> Result<Payment, PaymentError> {
        let currency = Currency::parse(&self.currency.to_ascii_uppercase())
            .map_err(|e| PaymentError::Rejected(format!("PaymentIntent {}: {e}", self.id)))?;
        let tag = |name: &str| self.metadata.get(name).cloned();
        let tags = match (tag("order_id"), tag("user_id"), tag("checkout_key")) {
            (Some(order_id), Some(user_id), Some(checkout_key)) => Some(PaymentTags {
                order_id,
                user_id,
                checkout_key,
            }),
            _ => None,
        };
        Ok(Payment {
            id: PaymentId::new(&self.id),
            amount: Money::new(self.amount, currency),
            state: self.state(),
            tags,
        })
    }
}

/// A page of `GET /v1/payment_intents`.
#[derive(Debug, Deserialize)]
struct IntentList {
    data: Vec<PaymentIntent>,
    #[serde(default)]
    has_more: bool,
}

/// The part of a Refund the refund needs.
#[derive(Debug, Deserialize)]
struct StripeRefund {
    id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
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
        /// The query string's fields.
        query: Vec<(String, String)>,
    }

    impl Recorded {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).and_then(|v| v.to_str().ok())
        }

        fn form(&self) -> Vec<(&str, &str)> {
            self.form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
        }

        fn query(&self) -> Vec<(&str, &str)> {
            self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
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
            query: serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap(),
        };
        let canned = (state.answer)(&recorded);
        state.requests.lock().unwrap().push(recorded);
        tokio::time::sleep(canned.delay).await;
        let status = axum::http::StatusCode::from_u16(canned.status).unwrap();
        (status, [("content-type", "application/json")], canned.body).into_response()
    }

    fn request(key: &str) -> PaymentRequest {
        PaymentRequest {
            key: key.to_owned(),
            amount: Money::new(1999, Currency::USD),
            payment_method: "pm_card_visa".to_owned(),
            description: "storefront order ord_1".to_owned(),
            tags: PaymentTags {
                order_id: "ord_1".to_owned(),
                user_id: "alice".to_owned(),
                checkout_key: "key-1".to_owned(),
            },
        }
    }

    fn pi() -> PaymentId {
        PaymentId::new("pi_123")
    }

    /// A PaymentIntent as Stripe answers it.
    fn intent(status: &str) -> Value {
        json!({
            "id": "pi_123", "object": "payment_intent", "status": status, "amount": 1999, "currency": "usd",
            "metadata": { "order_id": "ord_1", "user_id": "alice", "checkout_key": "key-1" },
        })
    }

    /// A succeeded intent with its latest charge expanded.
    fn charged(refunded: bool) -> Value {
        let mut intent = intent("succeeded");
        intent["latest_charge"] = json!({
            "id": "ch_1", "object": "charge", "refunded": refunded, "amount_refunded": if refunded { 1999 } else { 0 },
        });
        intent
    }

    fn assert_stripe_headers(request: &Recorded) {
        assert_eq!(request.header("authorization"), Some("Bearer sk_test_secret123"));
        assert_eq!(request.header("stripe-version"), Some("2024-06-20"));
    }

    #[tokio::test]
    async fn create_makes_an_intent_under_the_key_without_charging_it() {
        let stub = Stub::answering(200, intent("requires_confirmation")).await;

        let id = stub.provider().create(&request("key-1")).await;

        assert_eq!(id, Ok(pi()));
        let sent = stub.only_request();
        assert_eq!(sent.method, Method::POST);
        assert_eq!(sent.path, "/v1/payment_intents");
        assert_stripe_headers(&sent);
        assert_eq!(sent.header("idempotency-key"), Some("key-1"));
        assert_eq!(sent.header("content-type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(
            sent.form(),
            [
                ("amount", "1999"),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
                ("automatic_payment_methods[enabled]", "true"),
                ("automatic_payment_methods[allow_redirects]", "never"),
                ("description", "storefront order ord_1"),
                ("metadata[order_id]", "ord_1"),
                ("metadata[user_id]", "alice"),
                ("metadata[checkout_key]", "key-1"),
            ],
            "no confirm: creating moves no money"
        );
    }

    #[tokio::test]
    async fn a_base_url_with_a_trailing_slash_still_reaches_the_api() {
        let stub = Stub::answering(200, intent("requires_confirmation")).await;
        let provider = StripeProvider::new(API_KEY, format!("{}/", stub.url));

        assert!(provider.create(&request("key-1")).await.is_ok());
        assert_eq!(stub.only_request().path, "/v1/payment_intents");
    }

    #[tokio::test]
    async fn creating_again_with_the_same_key_sends_the_same_key_and_body() {
        let stub = Stub::answering(200, intent("requires_confirmation")).await;
        let provider = stub.provider();

        let first = provider.create(&request("key-1")).await;
        let second = provider.create(&request("key-1")).await;

        assert_eq!(first, second);
        let sent = stub.requests();
        assert_eq!(sent[0].header("idempotency-key"), sent[1].header("idempotency-key"));
        assert_eq!(sent[0].form, sent[1].form);
    }

    #[tokio::test]
    async fn confirm_charges_the_intent_and_reads_back_whether_it_was_refunded() {
        let stub = Stub::start(|req| match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/v1/payment_intents/pi_123/confirm") => json_answer(200, intent("succeeded")),
            ("GET", "/v1/payment_intents/pi_123") => json_answer(200, charged(false)),
            _ => json_answer(404, json!({})),
        })
        .await;

        let state = stub.provider().confirm(&pi()).await;

        assert_eq!(state, Ok(PaymentState::Succeeded));
        let sent = stub.requests();
        assert_eq!(sent.len(), 2, "{sent:#?}");
        assert_stripe_headers(&sent[0]);
        assert!(
            sent[0]
                .header("idempotency-key")
                .is_some_and(|k| k.starts_with("confirm_pi_123_"))
        );
        assert_eq!(sent[1].query(), [("expand[]", "latest_charge")]);
    }

    #[tokio::test]
    async fn every_confirm_has_its_own_key_so_a_replayed_5xx_never_hides_the_outcome() {
        let stub = Stub::start(|req| match req.method.as_str() {
            "POST" => stripe_error(500, json!({ "type": "api_error", "message": "try later" })),
            _ => json_answer(200, charged(false)),
        })
        .await;
        let provider = stub.provider();

        assert_eq!(provider.confirm(&pi()).await, Ok(PaymentState::Succeeded));
        assert_eq!(provider.confirm(&pi()).await, Ok(PaymentState::Succeeded));

        let keys: Vec<_> = stub
            .requests()
            .iter()
            .filter(|r| r.method == Method::POST)
            .map(|r| r.header("idempotency-key").unwrap().to_owned())
            .collect();
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);
    }

    #[tokio::test]
    async fn a_card_error_on_confirm_is_a_decline_with_the_issuers_reason() {
        let stub = Stub::start(|_| {
            stripe_error(
                402,
                json!({
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                    "payment_intent": intent("requires_payment_method"),
                }),
            )
        })
        .await;

        let state = stub.provider().confirm(&pi()).await;

        assert_eq!(
            state,
            Ok(PaymentState::Declined {
                code: "insufficient_funds".to_owned(),
                message: "Your card has insufficient funds.".to_owned(),
            })
        );
        assert_eq!(stub.requests().len(), 1);
    }

    #[tokio::test]
    async fn confirming_an_intent_that_already_succeeded_and_was_refunded_is_refunded_not_paid() {
        let stub = Stub::start(|req| match req.method.as_str() {
            "POST" => stripe_error(
                400,
                json!({ "type": "invalid_request_error", "code": "payment_intent_unexpected_state",
                        "message": "This PaymentIntent's status is succeeded." }),
            ),
            _ => json_answer(200, charged(true)),
        })
        .await;

        assert_eq!(stub.provider().confirm(&pi()).await, Ok(PaymentState::Refunded));
    }

    #[tokio::test]
    async fn a_confirm_that_gets_no_answer_reads_the_intent_back() {
        let stub = Stub::start(|req| match req.method.as_str() {
            "POST" => Canned {
                status: 200,
                body: intent("succeeded").to_string(),
                delay: Duration::from_secs(5),
            },
            _ => json_answer(200, intent("processing")),
        })
        .await;

        let state = stub
            .provider()
            .with_timeout(Duration::from_millis(200))
            .confirm(&pi())
            .await;

        assert_eq!(state, Ok(PaymentState::Processing));
    }

    #[tokio::test]
    async fn when_neither_the_confirm_nor_the_read_back_is_answered_it_is_unavailable() {
        let stub = Stub::answering(503, json!({ "error": { "type": "api_error" } })).await;
        let state = stub.provider().confirm(&pi()).await;
        assert!(matches!(state, Err(PaymentError::Unavailable(_))), "{state:?}");
    }

    #[tokio::test]
    async fn retrieve_maps_every_status_to_where_the_money_is() {
        let cases = [
            (intent("requires_confirmation"), PaymentState::Unconfirmed),
            (intent("requires_payment_method"), PaymentState::Unconfirmed),
            (intent("processing"), PaymentState::Processing),
            (intent("canceled"), PaymentState::Cancelled),
            (charged(false), PaymentState::Succeeded),
            (charged(true), PaymentState::Refunded),
            (
                {
                    let mut i = intent("requires_payment_method");
                    i["last_payment_error"] =
                        json!({ "code": "card_declined", "decline_code": "stolen_card", "message": "Declined." });
                    i
                },
                PaymentState::Declined {
                    code: "stolen_card".into(),
                    message: "Declined.".into(),
                },
            ),
            (
                intent("requires_action"),
                PaymentState::Declined {
                    code: "requires_action".into(),
                    message: "the payment was not completed (status requires_action)".into(),
                },
            ),
        ];
        for (body, state) in cases {
            let stub = Stub::answering(200, body.clone()).await;
            let payment = stub.provider().retrieve(&pi()).await.unwrap();
            assert_eq!(payment.state, state, "{body}");
            assert_eq!(payment.amount, Money::new(1999, Currency::USD));
            assert_eq!(payment.tags.unwrap().order_id, "ord_1");
            let sent = stub.only_request();
            assert_eq!(
                (sent.method, sent.path.as_str()),
                (Method::GET, "/v1/payment_intents/pi_123")
            );
        }
    }

    #[tokio::test]
    async fn an_id_that_could_leave_the_path_is_rejected_without_sending() {
        let stub = Stub::answering(200, intent("canceled")).await;
        let result = stub.provider().retrieve(&PaymentId::new("pi_1/../../v1/refunds")).await;
        assert!(matches!(result, Err(PaymentError::Rejected(_))), "{result:?}");
        assert!(stub.requests().is_empty());
    }

    #[tokio::test]
    async fn cancel_cancels_an_uncharged_intent_and_reports_one_that_was_charged_meanwhile() {
        let stub = Stub::answering(200, intent("canceled")).await;
        assert_eq!(stub.provider().cancel(&pi()).await, Ok(PaymentState::Cancelled));
        let sent = stub.only_request();
        assert_eq!(sent.path, "/v1/payment_intents/pi_123/cancel");
        assert!(
            sent.header("idempotency-key")
                .is_some_and(|k| k.starts_with("cancel_pi_123_"))
        );

        let stub = Stub::start(|req| match req.method.as_str() {
            "POST" => stripe_error(
                400,
                json!({ "type": "invalid_request_error", "code": "payment_intent_unexpected_state" }),
            ),
            _ => json_answer(200, charged(false)),
        })
        .await;
        assert_eq!(stub.provider().cancel(&pi()).await, Ok(PaymentState::Succeeded));
    }

    #[tokio::test]
    async fn refund_refunds_the_intent_with_a_key_of_its_own() {
        let stub = Stub::answering(
            200,
            json!({ "id": "re_123", "object": "refund", "status": "succeeded" }),
        )
        .await;

        let refund = stub.provider().refund(&pi()).await;

        assert_eq!(
            refund,
            Ok(Refund {
                id: "re_123".to_owned()
            })
        );
        let sent = stub.only_request();
        assert_eq!(sent.method, Method::POST);
        assert_eq!(sent.path, "/v1/refunds");
        assert_stripe_headers(&sent);
        assert!(
            sent.header("idempotency-key")
                .is_some_and(|k| k.starts_with("refund_pi_123_"))
        );
        assert_eq!(sent.form(), [("payment_intent", "pi_123")]);
    }

    #[tokio::test]
    async fn a_payment_already_refunded_counts_as_refunded() {
        let stub = Stub::answering(
            400,
            json!({ "error": {
                "type": "invalid_request_error",
                "code": "charge_already_refunded",
                "message": "Charge ch_123 has already been refunded.",
            } }),
        )
        .await;

        let refund = stub.provider().refund(&pi()).await;

        assert_eq!(
            refund,
            Ok(Refund {
                id: "already-refunded:pi_123".to_owned()
            })
        );
    }

    #[tokio::test]
    async fn a_refund_whose_answer_is_lost_is_read_back() {
        for (refunded, ok) in [(true, true), (false, false)] {
            let stub = Stub::start(move |req| match req.method.as_str() {
                "POST" => stripe_error(500, json!({ "type": "api_error" })),
                _ => json_answer(200, charged(refunded)),
            })
            .await;
            let refund = stub.provider().refund(&pi()).await;
            assert_eq!(refund.is_ok(), ok, "{refund:?}");
            if !ok {
                assert!(matches!(refund, Err(PaymentError::Unavailable(_))));
            }
        }
    }

    #[tokio::test]
    async fn refund_errors_that_are_our_fault_are_rejected() {
        let stub = Stub::answering(
            400,
            json!({ "error": { "type": "invalid_request_error", "code": "resource_missing" } }),
        )
        .await;
        let result = stub.provider().refund(&pi()).await;
        assert!(matches!(result, Err(PaymentError::Rejected(_))), "{result:?}");
    }

    #[tokio::test]
    async fn list_pages_through_every_intent_created_since_a_time() {
        let stub = Stub::start(|req| {
            let after = req
                .query
                .iter()
                .find(|(k, _)| k == "starting_after")
                .map(|(_, v)| v.clone());
            let mut first = charged(false);
            first["id"] = json!("pi_1");
            let mut second = intent("canceled");
            second["id"] = json!("pi_2");
            second["metadata"] = json!({});
            match after.as_deref() {
                None => json_answer(200, json!({ "object": "list", "data": [first], "has_more": true })),
                Some("pi_1") => json_answer(200, json!({ "object": "list", "data": [second], "has_more": false })),
                Some(other) => json_answer(400, json!({ "error": { "message": other } })),
            }
        })
        .await;
        let since = shop_domain::time::parse("2026-12-01T00:00:00Z").unwrap();

        let payments = stub.provider().list(since).await.unwrap();

        assert_eq!(payments.len(), 2);
        assert_eq!(payments[0].state, PaymentState::Succeeded);
        assert_eq!(payments[1].state, PaymentState::Cancelled);
        assert_eq!(payments[1].tags, None, "made outside the shop");
        let sent = stub.requests();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].path, "/v1/payment_intents");
        assert!(sent[0].query().contains(&("created[gte]", "1796083200")));
        assert!(sent[0].query().contains(&("expand[]", "data.latest_charge")));
        assert!(sent[1].query().contains(&("starting_after", "pi_1")));
    }

    #[tokio::test]
    async fn server_errors_rate_limits_and_concurrent_keys_on_create_are_unavailable() {
        for status in [500, 502, 503, 429, 409] {
            let stub = Stub::answering(
                status,
                json!({ "error": { "type": "api_error", "message": "try later" } }),
            )
            .await;
            let result = stub.provider().create(&request("key-1")).await;
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
        let result = stub.provider().create(&request("key-1")).await;
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
        let result = stub.provider().create(&request("key-1")).await;
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
        let result = stub.provider().create(&request("key-1")).await;
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
            let result = stub.provider().create(&request("key-1")).await;
            assert!(matches!(result, Err(PaymentError::Rejected(_))), "{status}: {result:?}");
        }
    }

    #[tokio::test]
    async fn a_stripe_that_does_not_answer_in_time_is_unavailable() {
        let stub = Stub::start(|_| Canned {
            status: 200,
            body: intent("requires_confirmation").to_string(),
            delay: Duration::from_secs(5),
        })
        .await;
        let provider = stub.provider().with_timeout(Duration::from_millis(200));

        let started = Instant::now();
        let result = provider.create(&request("key-1")).await;

        assert!(
            matches!(&result, Err(PaymentError::Unavailable(m)) if m.contains("did not answer")),
            "{result:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "took {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_stripe_that_cannot_be_reached_is_unavailable() {
        // A port that was free a moment ago: nothing listens there.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);

        let result = StripeProvider::new(API_KEY, url).create(&request("key-1")).await;
        assert!(
            matches!(&result, Err(PaymentError::Unavailable(m)) if m.contains("could not reach Stripe")),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_key_that_cannot_be_a_header_is_rejected_without_sending() {
        let stub = Stub::answering(200, intent("requires_confirmation")).await;
        let result = stub.provider().create(&request("key\n1")).await;
        assert!(matches!(result, Err(PaymentError::Rejected(_))), "{result:?}");
        assert!(stub.requests().is_empty());
    }

    #[test]
    fn debug_output_leaves_out_the_api_key() {
        let provider = StripeProvider::new(API_KEY, DEFAULT_BASE_URL);
        let debug = format!("{provider:?}");
        assert!(!debug.contains("secret123"), "{debug}");
        assert!(debug.contains("https://api.stripe.com"), "{debug}");
    }
}
