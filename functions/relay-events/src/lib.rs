//! The outbox relay (DynamoDB stream → SQS). The rules are in
//! `shop_events` and `shop_events::relay`; this names the queues.

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use shop_domain::settings::ConfigError;
use shop_edge::config::Config;
use shop_edge::function::{Error, Function, Init};
use shop_events::relay::{Publish, SqsPublisher};

/// The queues from the configuration (`SEARCH_INDEX_QUEUE_URL`,
/// `RECOMMENDATION_QUEUE_URL`, `LIVE_STOCK_QUEUE_URL`, `RATING_QUEUE_URL`,
/// `EMAIL_QUEUE_URL`, `LIVE_ORDER_QUEUE_URL`, `RELAY_DEAD_LETTER_QUEUE_URL`).
pub fn publisher(config: &Config, sqs: aws_sdk_sqs::Client) -> Result<SqsPublisher, ConfigError> {
    let queues = config.queues.clone();
    let required = |url: Option<String>, name| url.ok_or(ConfigError::Missing(name));
    Ok(SqsPublisher {
        client: sqs,
        search_index_queue_url: required(queues.search_index, "SEARCH_INDEX_QUEUE_URL")?,
        recommendation_queue_url: required(queues.recommendations, "RECOMMENDATION_QUEUE_URL")?,
        live_stock_queue_url: required(queues.live_stock, "LIVE_STOCK_QUEUE_URL")?,
        rating_queue_url: required(queues.ratings, "RATING_QUEUE_URL")?,
        email_queue_url: required(queues.email, "EMAIL_QUEUE_URL")?,
        live_order_queue_url: required(queues.live_orders, "LIVE_ORDER_QUEUE_URL")?,
        dead_letter_queue_url: required(queues.relay_dead_letter, "RELAY_DEAD_LETTER_QUEUE_URL")?,
    })
}

pub async fn handle<P: Publish>(publisher: &P, event: Event) -> DynamoDbEventResponse {
    shop_events::relay::relay(publisher, event).await
}

/// This function, as its `main.rs` and the local runner build it: a
/// publisher to the queues its environment names, through SQS (or the
/// local runner's client for its emulator).
pub struct RelayEvents {
    publisher: SqsPublisher,
}

impl Function for RelayEvents {
    type Event = Event;
    type Output = DynamoDbEventResponse;

    async fn init(init: &Init<'_>) -> Result<Self, Error> {
        let sqs = init.provided_or(async { Ok(shop_events::sqs(init.sdk, None)) }).await?;
        Ok(Self {
            publisher: publisher(init.config, sqs)?,
        })
    }

    fn handle(&self, event: Event) -> impl std::future::Future<Output = DynamoDbEventResponse> + Send {
        handle(&self.publisher, event)
    }
}
