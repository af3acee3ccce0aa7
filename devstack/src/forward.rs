//! Passing an AWS API call on to the emulator behind a local proxy (the
//! fault proxy, the rehearsal's IAM proxy): the same body and headers, and
//! the emulator's answer back unchanged.

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Posts `body` with `headers` to `upstream` and answers what it answers.
pub async fn forward(client: &reqwest::Client, upstream: &str, headers: &HeaderMap, body: Bytes) -> Response {
    forward_request(client, Method::POST, upstream, headers, body).await
}

/// [`forward`] with any method, to any URL (`upstream` and a path).
pub async fn forward_request(
    client: &reqwest::Client,
    method: Method,
    upstream: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = client.request(method, upstream).body(body);
    for (name, value) in headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("{upstream} did not answer: {e}")).into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    match answer.bytes().await {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            for (name, value) in &headers {
                if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("reading the answer of {upstream}: {e}"),
        )
            .into_response(),
    }
}

/// Serves a proxy's `app` on a free loopback port until `shutdown` turns
/// true; returns its endpoint.
pub async fn serve_proxy(
    what: &'static str,
    app: axum::Router,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .with_context(|| format!("binding {what}"))?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    Ok((endpoint, crate::serve(what, listener, app, shutdown)))
}
