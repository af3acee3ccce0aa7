//! The local WebSocket API: what API Gateway does for template.yaml's
//! WebSocket API (the live stock routes). Each connection gets an id; its
//! messages are routed by their `action` field (the API's route selection
//! expression) to the function behind the route, as API Gateway's Lambda
//! proxy event; functions answer connections through the management API
//! (`POST /@connections/{id}`), which the runner serves too, so `push-stock`
//! uses the same SDK client against it as against AWS.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// A WebSocket route's function as the runner calls it.
pub type SocketHandler =
    Arc<dyn Fn(ApiGatewayWebsocketProxyRequest) -> BoxFuture<'static, ApiGatewayProxyResponse> + Send + Sync>;

/// The routes of one WebSocket API and its open connections.
#[derive(Clone, Default)]
pub struct LiveGateway {
    routes: BTreeMap<String, SocketHandler>,
    connections: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<String>>>>,
}

impl LiveGateway {
    pub fn add(&mut self, route_key: &str, handler: SocketHandler) {
        self.routes.insert(route_key.to_owned(), handler);
    }

    /// `GET /live` (the WebSocket) and the management API.
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/live", axum::routing::get(upgrade))
            .route("/@connections/{connection}", axum::routing::post(post_to_connection))
            .with_state(self)
    }

    /// Calls the route's function; `None` if the API has no such route.
    async fn invoke(
        &self,
        route_key: &str,
        connection: &str,
        headers: HeaderMap,
        body: Option<String>,
    ) -> Option<ApiGatewayProxyResponse> {
        let handler = self.routes.get(route_key)?;
        let mut event = ApiGatewayWebsocketProxyRequest::default();
        event.body = body;
        event.headers = headers;
        let context = &mut event.request_context;
        context.route_key = Some(route_key.to_owned());
        context.connection_id = Some(connection.to_owned());
        context.event_type = Some(
            match route_key {
                "$connect" => "CONNECT",
                "$disconnect" => "DISCONNECT",
                _ => "MESSAGE",
            }
            .to_owned(),
        );
        context.stage = Some("local".into());
        context.request_time_epoch = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        Some(handler(event).await)
    }

    async fn serve(self, connection: String, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let (outbox, mut to_client) = mpsc::unbounded_channel::<String>();
        self.connections
            .lock()
            .expect("not poisoned")
            .insert(connection.clone(), outbox);
        loop {
            tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let body = text.to_string();
                        if let Some(error) = self.route_message(&connection, body).await {
                            let _ = sink.send(Message::Text(error.into())).await;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                Some(outgoing) = to_client.recv() => {
                    if sink.send(Message::Text(outgoing.into())).await.is_err() {
                        break;
                    }
                }
            }
        }
        self.connections.lock().expect("not poisoned").remove(&connection);
        self.invoke("$disconnect", &connection, HeaderMap::new(), None).await;
    }

    /// Routes a client message by its `action` (else `$default`); answers
    /// what API Gateway would tell the client when no route matches.
    async fn route_message(&self, connection: &str, body: String) -> Option<String> {
        let action = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_owned))
            .filter(|action| self.routes.contains_key(action))
            .unwrap_or_else(|| "$default".to_owned());
        match self.invoke(&action, connection, HeaderMap::new(), Some(body)).await {
            Some(_) => None,
            None => Some(r#"{"message": "Forbidden"}"#.to_owned()),
        }
    }
}

/// Opens a connection if the `$connect` route (when there is one) accepts
/// it; like API Gateway, it hands the route the handshake's headers.
async fn upgrade(State(gateway): State<LiveGateway>, headers: HeaderMap, socket: WebSocketUpgrade) -> Response {
    let connection = ulid::Ulid::new().to_string();
    if let Some(answer) = gateway.invoke("$connect", &connection, headers, None).await
        && !(200..300).contains(&answer.status_code)
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    socket.on_upgrade(move |socket| gateway.serve(connection, socket))
}

/// `PostToConnection`: 410 `GoneException` for a connection that is closed.
async fn post_to_connection(
    State(gateway): State<LiveGateway>,
    Path(connection): Path<String>,
    data: Bytes,
) -> Response {
    let sender = gateway
        .connections
        .lock()
        .expect("not poisoned")
        .get(&connection)
        .cloned();
    match sender.map(|s| s.send(String::from_utf8_lossy(&data).into_owned())) {
        Some(Ok(())) => StatusCode::OK.into_response(),
        _ => (
            StatusCode::GONE,
            [
                ("x-amzn-errortype", "GoneException"),
                ("content-type", "application/json"),
            ],
            r#"{"message": "the connection is gone"}"#,
        )
            .into_response(),
    }
}
