//! The live stock WebSocket API's routes (`$connect`, `$disconnect`,
//! `subscribe`); the rules are in `shared::live`.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use shared::store::DynamoStore;

pub async fn handle(store: &DynamoStore, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    shared::live::handle_socket(store, event).await
}
