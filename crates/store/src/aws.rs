//! AWS clients. In Lambda they come from the default chain, which honours
//! `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL`,
//! so functions never know which backend they talk to.

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;

/// The SDK configuration from the environment (region, credentials, endpoints).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A DynamoDB client; `endpoint` overrides where it connects (the local runner
/// and tests point it at dynoxide).
pub fn dynamodb(sdk: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// The region the local emulators live in.
pub const LOCAL_REGION: &str = "us-east-1";

/// An SDK configuration for local emulators: fixed region and credentials,
/// nothing read from the developer's own AWS profile.
pub fn local_sdk_config() -> SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "storefront-local");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new(LOCAL_REGION))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials))
        .build()
}
