//! Local tokens: HS256 JWTs with the claims a Cognito ID token carries
//! (`sub`, `exp`, `iss`, `aud`, `cognito:groups`). The local gateway verifies
//! them the way API Gateway's Cognito authorizer verifies real ones.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The documented default secret, for local use only (`DEV_JWT_SECRET` overrides it).
pub const DEFAULT_DEV_SECRET: &str = "storefront-local-dev-secret-not-for-production";
pub const ISSUER: &str = "storefront-local";
pub const AUDIENCE: &str = "storefront";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    pub iss: String,
    pub aud: String,
    #[serde(rename = "cognito:groups", default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A signed token for `sub`, in `groups`, valid for `ttl`.
pub fn mint(secret: &str, sub: &str, groups: &[&str], ttl: Duration) -> String {
    let now = now_secs();
    let claims = Claims {
        sub: sub.to_owned(),
        exp: now + ttl.as_secs(),
        iat: now,
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

/// Checks signature, algorithm, expiry, issuer and audience.
pub fn verify(secret: &str, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 5;
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let token = mint("s3cret", "alice", &["admin"], Duration::from_secs(60));
        let claims = verify("s3cret", &token).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.groups, ["admin"]);
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let token = mint("other", "alice", &[], Duration::from_secs(60));
        assert!(verify("s3cret", &token).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let now = now_secs();
        let claims = Claims {
            sub: "a".into(),
            exp: now - 60,
            iat: now - 120,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            groups: vec![],
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k")).unwrap();
        assert!(verify("k", &token).is_err());
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let now = now_secs();
        let claims = Claims {
            sub: "a".into(),
            exp: now + 60,
            iat: now,
            iss: ISSUER.into(),
            aud: "elsewhere".into(),
            groups: vec![],
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k")).unwrap();
        assert!(verify("k", &token).is_err());
    }
}
