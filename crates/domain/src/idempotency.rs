//! Idempotency keys for checkout, after Stripe and the IETF
//! `Idempotency-Key` header draft, as pure decisions; the records live in
//! DynamoDB (`store::orders`).
//!
//! - A key is scoped to the user who sends it.
//! - The record keeps a fingerprint of the request body: the same key with
//!   another body is refused (422), never silently answered.
//! - While the first request runs, the record is locked; a second one is
//!   told to retry (409). A run that died leaves the lock to expire after
//!   [`LOCK_TTL`] (longer than the function's timeout); then a retry resumes.
//! - A finished request's response is stored and replayed byte for byte for
//!   [`RETENTION`] after it finished; after that the key starts afresh. A
//!   record still in progress never retires: it may hold a payment, and the reconciler
//!   (`shop_orders::reconcile`) settles it.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;

use crate::ids::UserId;
use crate::order::CheckoutRefusal;
use crate::time::Timestamp;

/// How long a running checkout holds its key. The checkout function's
/// timeout in template.yaml is 30 s; a lock outlives any run that could still
/// be working.
pub const LOCK_TTL: time::Duration = time::Duration::seconds(60);
/// How long a key and its stored response are kept.
pub const RETENTION: time::Duration = time::Duration::hours(24);

/// The `Idempotency-Key` header: 1–255 printable ASCII characters. The
/// draft's structured-field form (`"…"` in double quotes) is accepted too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(header: &str) -> Result<Self, String> {
        let value = header
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(header);
        if value.is_empty() || value.len() > 255 {
            return Err("must be 1 to 255 characters".into());
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be printable ASCII without spaces (a UUID is a good key)".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A SHA-256 of the request body's canonical JSON (keys sorted, no spaces),
/// so that the same request sent with other formatting is the same request.
pub fn fingerprint(body: &serde_json::Value) -> String {
    let mut canonical = String::new();
    write_canonical(body, &mut canonical);
    hex(&Sha256::digest(canonical.as_bytes()))
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A hash naming one checkout: the user, the key and when the key was first
/// used (so a key reused after [`RETENTION`] names a new checkout). Order
/// ids and payment keys are derived from it.
pub fn checkout_seed(user: &UserId, key: &IdempotencyKey, first_used: Timestamp) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [user.as_str(), key.as_str(), &crate::time::format(first_used)] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// The payment provider's idempotency key for creating payment number
/// `charge` of a checkout (a later number only after an earlier payment was
/// refunded or cancelled), for `amount` on `payment_method` paying for the
/// lines digested in `cart`. The same
/// payment asked for again gets the same key, so the provider answers with
/// the same payment; a different amount or card gets another key, so a
/// payment created by an attempt that died before noting it can never
/// collide with what a later attempt asks for.
pub fn payment_key(
    seed: &[u8; 32],
    charge: u32,
    amount: crate::money::Money,
    payment_method: &str,
    cart: &str,
) -> String {
    let mut hash = Sha256::new();
    hash.update(seed);
    for part in [
        charge.to_string().as_str(),
        &amount.amount.to_string(),
        amount.currency.as_str(),
        payment_method,
        cart,
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    format!("chk_{}_{charge}", &hex(&hash.finalize())[..40])
}

/// A finished checkout's answer, kept so that every retry gets the same
/// one. The edge renders it; the use case only says what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredResponse {
    /// The order was placed: its public view, as the JSON first sent.
    Placed { body: String },
    /// No order was placed, and why.
    Refused(CheckoutRefusal),
    /// A refusal recorded before refusals were typed: the HTTP answer as
    /// first sent. Such records retire [`RETENTION`] after they finished.
    Rendered { status: u16, body: String },
}

impl StoredResponse {
    /// What happened, in the words of the API's codes: `ORDER_PLACED`, the
    /// refusal's code, or `RECORDED` for an answer recorded before refusals
    /// were typed.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Placed { .. } => "ORDER_PLACED",
            Self::Refused(refusal) => refusal.code(),
            Self::Rendered { .. } => "RECORDED",
        }
    }
}

/// A key's record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub fingerprint: String,
    pub created_at: Timestamp,
    pub state: RecordState,
}

impl Record {
    /// Whether the record counts as absent at `now`: finished for longer than
    /// [`RETENTION`]. One still in progress never retires: it may hold the
    /// shopper's money until it is settled.
    pub fn retired(&self, now: Timestamp) -> bool {
        match &self.state {
            RecordState::Completed { at, .. } => *at + RETENTION <= now,
            RecordState::InProgress { .. } => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordState {
    /// Attempt `attempt` is running (or died) and holds the key until `locked_until`.
    InProgress { attempt: u32, locked_until: Timestamp },
    /// Finished at `at` with `response`.
    Completed { response: StoredResponse, at: Timestamp },
}

/// What to do with a request, given its key's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No live record: run the request.
    Start,
    /// An earlier attempt died: take the key over and run again.
    Resume { attempt: u32, created_at: Timestamp },
    /// Done before: answer with the stored response.
    Replay(StoredResponse),
    /// Another request with this key is running: 409, try later.
    InUse,
    /// The key was used with another body: 422.
    Reused,
}

pub fn decide(record: Option<&Record>, fingerprint: &str, now: Timestamp) -> Decision {
    let Some(record) = record.filter(|r| !r.retired(now)) else {
        return Decision::Start;
    };
    if record.fingerprint != fingerprint {
        return Decision::Reused;
    }
    match &record.state {
        RecordState::Completed { response, .. } => Decision::Replay(response.clone()),
        RecordState::InProgress { locked_until, .. } if *locked_until > now => Decision::InUse,
        RecordState::InProgress { attempt, .. } => Decision::Resume {
            attempt: attempt + 1,
            created_at: record.created_at,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(seconds: i64) -> Timestamp {
        crate::time::parse("2026-11-26T10:00:00Z").unwrap() + time::Duration::seconds(seconds)
    }

    fn record(state: RecordState) -> Record {
        Record {
            fingerprint: "f".into(),
            created_at: at(0),
            state,
        }
    }

    #[test]
    fn keys_are_printable_ascii_and_may_be_quoted() {
        assert_eq!(IdempotencyKey::parse("abc-123").unwrap().as_str(), "abc-123");
        assert_eq!(IdempotencyKey::parse("\"8e03978e\"").unwrap().as_str(), "8e03978e");
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("é").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn the_fingerprint_ignores_formatting_and_key_order_but_not_values() {
        let a = json!({ "b": 1, "a": { "y": [1, 2], "x": "s" } });
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,2]},  "b":1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&json!({ "b": 2, "a": { "y": [1, 2], "x": "s" } }))
        );
        assert_ne!(
            fingerprint(&a),
            fingerprint(&json!({ "b": 1, "a": { "y": [2, 1], "x": "s" } }))
        );
    }

    #[test]
    fn a_fresh_key_starts() {
        assert_eq!(decide(None, "f", at(0)), Decision::Start);
    }

    #[test]
    fn a_completed_key_replays_only_the_same_body() {
        let response = StoredResponse::Placed { body: "{}".into() };
        let done = record(RecordState::Completed {
            response: response.clone(),
            at: at(5),
        });
        assert_eq!(decide(Some(&done), "f", at(10)), Decision::Replay(response));
        assert_eq!(decide(Some(&done), "other", at(10)), Decision::Reused);
    }

    #[test]
    fn a_running_key_is_in_use_until_its_lock_expires_then_resumes() {
        let running = record(RecordState::InProgress {
            attempt: 1,
            locked_until: at(60),
        });
        assert_eq!(decide(Some(&running), "f", at(59)), Decision::InUse);
        assert_eq!(decide(Some(&running), "other", at(59)), Decision::Reused);
        assert_eq!(
            decide(Some(&running), "f", at(60)),
            Decision::Resume {
                attempt: 2,
                created_at: at(0)
            }
        );
    }

    #[test]
    fn a_day_after_it_finished_a_key_starts_afresh() {
        let response = StoredResponse::Placed { body: "{}".into() };
        let done = record(RecordState::Completed {
            response: response.clone(),
            at: at(0),
        });
        assert_eq!(decide(Some(&done), "other", at(24 * 3600)), Decision::Start);
        // Finished by the reconciler two days after it began: the late
        // retry still gets the answer.
        let late = record(RecordState::Completed {
            response: response.clone(),
            at: at(48 * 3600),
        });
        assert_eq!(decide(Some(&late), "f", at(60 * 3600)), Decision::Replay(response));
    }

    #[test]
    fn a_record_still_in_progress_never_retires() {
        let running = record(RecordState::InProgress {
            attempt: 1,
            locked_until: at(60),
        });
        let two_days = at(48 * 3600);
        assert_eq!(
            decide(Some(&running), "f", two_days),
            Decision::Resume {
                attempt: 2,
                created_at: at(0)
            }
        );
        assert_eq!(decide(Some(&running), "other", two_days), Decision::Reused);
    }

    #[test]
    fn checkouts_are_named_by_user_key_and_first_use() {
        let user = UserId::parse("u1").unwrap();
        let key = IdempotencyKey::parse("k1").unwrap();
        let seed = checkout_seed(&user, &key, at(0));
        assert_eq!(seed, checkout_seed(&user, &key, at(0)));
        assert_ne!(seed, checkout_seed(&UserId::parse("u2").unwrap(), &key, at(0)));
        assert_ne!(seed, checkout_seed(&user, &key, at(1)));
        let usd = |cents| crate::money::Money::new(cents, crate::money::Currency::USD);
        let key = payment_key(&seed, 1, usd(1000), "pm_card_visa", "c1");
        assert_eq!(key, payment_key(&seed, 1, usd(1000), "pm_card_visa", "c1"));
        assert_ne!(key, payment_key(&seed, 2, usd(1000), "pm_card_visa", "c1"));
        assert_ne!(key, payment_key(&seed, 1, usd(1001), "pm_card_visa", "c1"));
        assert_ne!(key, payment_key(&seed, 1, usd(1000), "pm_card_mastercard", "c1"));
        assert_ne!(key, payment_key(&seed, 1, usd(1000), "pm_card_visa", "c2"));
        assert!(key.starts_with("chk_") && key.ends_with("_1"), "{key}");
    }
}
