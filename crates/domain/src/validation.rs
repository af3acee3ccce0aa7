//! Invalid input, field by field: what parsing a request's values answers
//! (the edge renders it as a 400 problem).

use serde::Serialize;

/// One invalid input field: `{ "field": "price.amount", "message": "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
