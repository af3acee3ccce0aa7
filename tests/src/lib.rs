//! Integration tests live in `api/`; see `api/main.rs`.
