//! The live stock WebSocket API's routes (`$connect`, `$disconnect`,
//! `subscribe`); the rules are in `shop_live`.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use shop_store::live::LiveConnections;

pub async fn handle(store: &impl LiveConnections, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    shop_live::handle_socket(store, event).await
}
