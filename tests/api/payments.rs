//! The payment functions' start-up as in AWS: the Stripe key lives in
//! Secrets Manager (moto here), named by `STRIPE_SECRET_ARN`, and is read
//! once at init by the same code the functions run.

use crate::helpers::TestApp;
use shop_payments::PaymentSettings;

fn env(arn: &str) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| match name {
        "PAYMENT_PROVIDER" => Some("stripe".into()),
        shop_payments::STRIPE_SECRET_ARN => Some(arn.to_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn the_stripe_key_is_read_from_secrets_manager_at_init() {
    let (app, sdk) = TestApp::with_moto().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let created = secrets
        .create_secret()
        .name("storefront/stripe")
        .secret_string("sk_test_from_the_secret\n")
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();

    let settings = PaymentSettings::load(env(&arn), &sdk).await.unwrap();
    assert_eq!(
        settings,
        PaymentSettings::Stripe {
            api_key: "sk_test_from_the_secret".into(),
            base_url: shop_payments::stripe::DEFAULT_BASE_URL.into(),
        }
    );

    // A secret that is missing or empty stops the function at init, naming it.
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:storefront/nope-AbCdEf";
    let error = PaymentSettings::load(env(missing), &sdk).await.unwrap_err().to_string();
    assert!(error.contains("storefront/nope"), "{error}");
    let empty = secrets
        .create_secret()
        .name("storefront/empty")
        .secret_string(" ")
        .send()
        .await
        .unwrap();
    let error = PaymentSettings::load(env(empty.arn().unwrap()), &sdk)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("holds no Stripe key"), "{error}");

    // Without a secret (locally), the key comes from the environment as before.
    let local = |name: &str| match name {
        "PAYMENT_PROVIDER" => Some("stripe".to_owned()),
        "STRIPE_API_KEY" => Some("sk_test_local".to_owned()),
        _ => None,
    };
    let settings = PaymentSettings::load(local, &sdk).await.unwrap();
    assert!(matches!(settings, PaymentSettings::Stripe { api_key, .. } if api_key == "sk_test_local"));
    app.stop().await;
}
