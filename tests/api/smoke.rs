//! The smoke suite (`devstack smoke`, `devstack::smoke::run`) against a local
//! stack that runs its event pipeline, so that a product the suite creates
//! reaches search through the same path as in AWS: table stream → relay →
//! SQS → index updater. This is how CI runs the smoke suite.

use crate::helpers::{number, with_pipeline};
use devstack::smoke::{SmokeOptions, StepName};
use std::time::Duration;

#[tokio::test]
async fn the_smoke_suite_passes_against_a_local_stack_and_gives_back_the_stock_it_took() {
    let app = with_pipeline(60).await;
    let options = SmokeOptions {
        search_within: Duration::from_secs(60),
        poll_every: Duration::from_millis(50),
        print: true,
        ..SmokeOptions::default()
    };

    let report = devstack::smoke::run(&app.stack.api_url, &app.admin(), options)
        .await
        .expect("the suite starts");

    assert!(report.is_success(), "the smoke suite failed:\n{report}");
    let names: Vec<StepName> = report.steps.iter().map(|s| s.name).collect();
    assert_eq!(names, StepName::ALL);
    for step in &report.steps {
        let line = step.to_string();
        assert!(
            line.starts_with(&format!("ok  {} (", step.name)) && line.ends_with(" ms)"),
            "{line}"
        );
    }
    assert!(report.created_product_id.starts_with("SMOKE-"));
    let freshness = report.search_freshness.expect("the created product was found");
    eprintln!("smoke: the created product was found by search after {freshness:?}");

    // The order was cancelled: the product's units are back on sale, none
    // reserved or sold, and stock and money add up.
    let product = report.product_id.expect("a product was used");
    let shards = app.stock_shards(&product).await;
    assert!(!shards.is_empty());
    for shard in &shards {
        assert_eq!(number(shard, "sold"), 0, "{shard:?}");
        assert_eq!(number(shard, "reserved"), 0, "{shard:?}");
    }
    let created = app.get(&format!("/products/{}", report.created_product_id)).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        created.body["available"], 0,
        "the created product is left without stock"
    );
    app.assert_ledger_adds_up().await;
    app.stop().await;
}

#[tokio::test]
async fn a_failing_step_stops_the_run_with_its_status_and_problem() {
    let app = with_pipeline(20).await;
    let shopper = app.shopper();

    let report = devstack::smoke::run(&app.stack.api_url, &shopper, SmokeOptions::default())
        .await
        .expect("the suite starts");

    assert!(!report.is_success());
    let failed = report.failure().expect("a step failed");
    assert_eq!(failed.name, StepName::SignIn);
    assert_eq!(report.steps.len(), 2, "the run stops at the first failure:\n{report}");
    assert!(
        failed.to_string().starts_with("FAIL sign-in: ") && failed.to_string().contains("admin"),
        "{failed}"
    );

    // A token the API refuses: the line quotes the status and the problem.
    let report = devstack::smoke::run(&app.stack.api_url, "not-a-token", SmokeOptions::default())
        .await
        .expect("the suite starts");
    let failed = report.failure().expect("a step failed").to_string();
    assert!(
        failed.starts_with("FAIL sign-in: ") && failed.contains("401") && failed.contains("UNAUTHORIZED"),
        "{failed}"
    );
    app.stop().await;
}
