//! Identifiers as types that cannot hold a malformed value.
//!
//! Ids end up inside DynamoDB keys such as `PRODUCT#<id>`, so the character
//! set is restricted to what can never be confused with a key separator.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Checks `value` against an id rule; the message names what is wrong.
fn check_id(value: &str, max_len: usize, allowed: impl Fn(char) -> bool, what: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if value.len() > max_len {
        return Err(format!("{what} must be at most {max_len} characters"));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(format!("{what} contains the character {bad:?}, which is not allowed"));
    }
    Ok(())
}

/// A product id: 1–64 ASCII letters, digits, `-` or `_` (e.g. `P0001234`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductId(String);

impl ProductId {
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        check_id(
            &value,
            64,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            "a product id",
        )?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category id: a lowercase slug of 1–64 letters, digits and `-`
/// (e.g. `electronics-headphones`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryId(String);

impl CategoryId {
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        check_id(
            &value,
            64,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            "a category id",
        )?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of a signed-in user: the verified token's `sub` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UserId(String);

impl UserId {
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        check_id(&value, 128, |c| c.is_ascii_graphic() && c != '#', "a user id")?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_id_impls {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                Self::parse(value)
            }
        }
        impl From<$t> for String {
            fn from(id: $t) -> String {
                id.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
string_id_impls!(ProductId, CategoryId, UserId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_ids_accept_letters_digits_dash_and_underscore() {
        assert!(ProductId::parse("P0001234").is_ok());
        assert!(ProductId::parse("sku_12-a").is_ok());
    }

    #[test]
    fn product_ids_reject_key_separators_spaces_and_overlong_values() {
        assert!(ProductId::parse("").is_err());
        assert!(ProductId::parse("P#1").is_err());
        assert!(ProductId::parse("a b").is_err());
        assert!(ProductId::parse("x".repeat(65)).is_err());
    }

    #[test]
    fn category_ids_are_lowercase_slugs() {
        assert!(CategoryId::parse("electronics-headphones").is_ok());
        assert!(CategoryId::parse("Electronics").is_err());
        assert!(CategoryId::parse("a_b").is_err());
    }

    #[test]
    fn user_ids_reject_the_key_separator() {
        assert!(UserId::parse("6f1c2a1e-user").is_ok());
        assert!(UserId::parse("a#b").is_err());
    }
}
