//! The storefront's own origin, locally: the built SPA (`web/dist`), the
//! runtime configuration it reads at start (`/config.json`: where the API
//! and the live stock socket are, how to sign in) and the local sign-in
//! (`POST /dev/token`), which stands in for Cognito's hosted UI, and the
//! dev mailbox (`GET /dev/mail`): the order emails the email worker wrote.

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
    mail_dir: PathBuf,
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
pub fn router(
    dist: Option<PathBuf>,
    api_url: String,
    live_url: String,
    jwt_secret: String,
    mail_dir: PathBuf,
) -> axum::Router {
    let site = Arc::new(Site {
        api_url,
        live_url,
        jwt_secret,
        mail_dir,
    });
    let router = axum::Router::new()
        .route("/config.json", axum::routing::get(config))
        .route("/dev/token", axum::routing::post(sign_in))
        .route("/dev/mail", axum::routing::get(mailbox))
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

/// Every `.eml` in the mail folder, newest first: `{ messages: [{ id, from,
/// to, subject, date, text, html }] }`.
async fn mailbox(State(site): State<Arc<Site>>) -> Response {
    let mut messages = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&site.mail_dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let (Ok(bytes), Ok(meta)) = (tokio::fs::read(&path).await, entry.metadata().await) else {
                continue;
            };
            let Some(message) = mail_parser::MessageParser::default().parse(&bytes) else {
                continue;
            };
            let address = |list: Option<&mail_parser::Address>| {
                list.and_then(|l| l.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_owned()
            };
            let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            messages.push((
                meta.modified().ok(),
                json!({
                    "id": id,
                    "from": address(message.from()),
                    "to": address(message.to()),
                    "subject": message.subject().unwrap_or_default(),
                    "date": message.date().map(|d| d.to_rfc3339()),
                    "text": message.body_text(0).map(|t| t.replace("\r\n", "\n")),
                    "html": message.body_html(0),
                }),
            ));
        }
    }
    messages.sort_by_key(|m| std::cmp::Reverse(m.0));
    Json(json!({ "messages": messages.into_iter().map(|(_, m)| m).collect::<Vec<_>>() })).into_response()
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
