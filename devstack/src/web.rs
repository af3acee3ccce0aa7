//! The storefront's own origin, locally: the built SPA (`web/dist`), the
//! runtime configuration it reads at start (`/config.json`: where the API
//! and the live stock socket are, how to sign in) and the local sign-in
//! (`POST /dev/token`), which stands in for Cognito's hosted UI.

use crate::token;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a local sign-in lasts.
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

struct Site {
    api_url: String,
    live_url: String,
    jwt_secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    user: String,
    #[serde(default)]
    admin: bool,
}

/// `/config.json`, `/dev/token` and, when `dist` is given, the SPA's files
/// with `index.html` for every other path (the SPA routes itself).
pub fn router(dist: Option<PathBuf>, api_url: String, live_url: String, jwt_secret: String) -> axum::Router {
    let site = Arc::new(Site {
        api_url,
        live_url,
        jwt_secret,
    });
    let router = axum::Router::new()
        .route("/config.json", axum::routing::get(config))
        .route("/dev/token", axum::routing::post(sign_in))
        .with_state(site);
    match dist {
        Some(dist) => {
            let index = tower_http::services::ServeFile::new(dist.join("index.html"));
            router.fallback_service(tower_http::services::ServeDir::new(dist).fallback(index))
        }
        None => router,
    }
}

async fn config(State(site): State<Arc<Site>>) -> Response {
    Json(json!({
        "apiUrl": site.api_url,
        "liveUrl": site.live_url,
        "auth": { "mode": "dev", "tokenUrl": "/dev/token" },
    }))
    .into_response()
}

async fn sign_in(
    State(site): State<Arc<Site>>,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return refuse(&rejection.body_text()),
    };
    let user = match shop_domain::ids::UserId::parse(request.user.trim()) {
        Ok(user) => user,
        Err(problem) => return refuse(&format!("user: {problem}")),
    };
    let groups: &[&str] = if request.admin {
        &[shop_edge::http::ADMIN_GROUP]
    } else {
        &[]
    };
    let token = token::mint(&site.jwt_secret, user.as_str(), groups, TOKEN_LIFETIME);
    Json(json!({ "token": token, "user": user.as_str(), "admin": request.admin })).into_response()
}

fn refuse(detail: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/problem+json")],
        json!({ "type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail, "code": "VALIDATION_FAILED" })
            .to_string(),
    )
        .into_response()
}
