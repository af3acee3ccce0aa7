//! `reindex-search`, the search index's deploy-time setup and rebuild: it
//! answers CloudFormation, finds its domain through the OpenSearch control
//! plane (moto here), and fills an OpenSearch index (osmem-server) from the
//! table the way the runner's own index is built.

use crate::helpers::TestApp;
use aws_lambda_events::cloudformation::CloudFormationCustomResourceRequest;
use devstack::osmem::{self, Osmem};
use reindex_search::{ReindexEvent, ReindexSearch, Summary, domain_endpoint};
use serde_json::{Value, json};
use shop_edge::function::{Extensions, Function, Init};
use shop_search::opensearch::{OpenSearchBackend, Signing};
use shop_search::{SearchBackend, SearchRequest, SearchSort};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The function for `app`'s table with these variables (and TABLE_NAME).
async fn reindexer(app: &TestApp, vars: &[(&str, &str)]) -> Result<ReindexSearch, shop_edge::function::Error> {
    let table = app.stack.table().to_owned();
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let lookup = move |name: &str| {
        if name == "TABLE_NAME" {
            return Some(table.clone());
        }
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    let config = shop_edge::config::Config::from_lookup(&lookup).unwrap();
    let store = shop_store::DynamoStore::new(app.stack.dynamodb.clone(), config.table_name.clone());
    let sdk = shop_store::aws::local_sdk_config();
    ReindexSearch::init(&Init {
        env: &lookup,
        config: &config,
        store: &store,
        sdk: &sdk,
        provided: &Extensions::new(),
    })
    .await
}

async fn osmem() -> Osmem {
    Osmem::start(&osmem::ensure_installed(&devstack::project_root()).await.unwrap())
        .await
        .unwrap()
}

fn everything() -> SearchRequest {
    SearchRequest {
        sort: SearchSort::PriceAsc,
        limit: 100,
        ..SearchRequest::default()
    }
}

#[tokio::test]
async fn a_rebuild_fills_an_opensearch_index_that_answers_like_the_runners() {
    let app = TestApp::seeded(450).await;
    let osmem = osmem().await;
    // Two segments of several scan pages each, all in this process.
    let function = reindexer(
        &app,
        &[
            ("OPENSEARCH_ENDPOINT", &osmem.endpoint),
            ("REINDEX_SEGMENTS", "2"),
            ("REINDEX_BUDGET_SECONDS", "1"),
        ],
    )
    .await
    .unwrap();
    // The index does not exist yet: the rebuild creates it with its mapping.
    let rebuild: ReindexEvent = serde_json::from_value(json!({ "rebuild": {} })).unwrap();
    let index = OpenSearchBackend::new(&osmem.endpoint, "products", Signing::Unsigned).unwrap();
    let summary = function.handle(rebuild.clone()).await.unwrap();
    assert_eq!(
        summary,
        Summary {
            indexed: 450,
            handed_on: 0
        }
    );
    let from_table = index.search(&everything()).await.unwrap();
    let runner = app.stack.searcher.backend.search(&everything()).await.unwrap();
    assert_eq!(from_table.total, 450);
    assert_eq!(from_table.hits, runner.hits);
    assert_eq!(from_table.facets, runner.facets);
    // Again, and one segment on its own: upserts, so the same index.
    function.handle(rebuild).await.unwrap();
    let segment: ReindexEvent = serde_json::from_value(json!({ "segment": 1, "total": 2 })).unwrap();
    assert!(function.handle(segment).await.unwrap().indexed > 0);
    assert_eq!(index.count().await.unwrap(), 450);
    assert_eq!(index.search(&everything()).await.unwrap().hits, runner.hits);
    osmem.stop().await;
    app.stop().await;
}

#[test]
fn events_are_cloudformations_a_rebuild_or_a_segment_and_nothing_else() {
    let parse = |v: Value| serde_json::from_value::<ReindexEvent>(v);
    assert!(matches!(parse(create("http://x/")).unwrap(), ReindexEvent::Deploy(_)));
    assert!(matches!(
        parse(json!({ "rebuild": { "segments": 8 } })).unwrap(),
        ReindexEvent::Rebuild { rebuild } if rebuild.segments == Some(8)
    ));
    assert!(matches!(
        parse(json!({ "segment": 3, "total": 8, "cursor": { "pk": "PRODUCT#P1" } })).unwrap(),
        ReindexEvent::Segment(_)
    ));
    for nonsense in [
        json!({}),
        json!({ "rebuild": { "segmnts": 2 } }),
        json!({ "segment": 1 }),
        json!([1]),
    ] {
        assert!(parse(nonsense.clone()).is_err(), "{nonsense}");
    }
}

fn create(response_url: &str) -> Value {
    json!({
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:reindex",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/shop/1",
        "RequestId": "request-1",
        "ResourceType": "Custom::SearchIndex",
        "LogicalResourceId": "SearchIndex",
        "ResourceProperties": { "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:reindex" }
    })
}

/// A stand-in for the presigned S3 URL CloudFormation waits on: answers 200
/// to one PUT and hands over its body.
async fn response_url() -> (String, tokio::task::JoinHandle<Value>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/cfn-response?X-Amz-Signature=abc",
        listener.local_addr().unwrap()
    );
    let received = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let read = socket.read(&mut buffer).await.unwrap();
            request.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    assert!(head.starts_with("PUT /cfn-response?X-Amz-Signature=abc "), "{head}");
                    socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .unwrap();
                    return serde_json::from_str(body).unwrap();
                }
            }
            assert!(read > 0, "the connection closed early");
        }
    });
    (url, received)
}

#[tokio::test]
async fn at_deploy_it_creates_the_index_answers_cloudformation_and_fills_the_index() {
    let app = TestApp::seeded(60).await;
    let osmem = osmem().await;
    let function = reindexer(
        &app,
        &[
            ("OPENSEARCH_ENDPOINT", &osmem.endpoint),
            ("OPENSEARCH_INDEX", "catalog"),
        ],
    )
    .await
    .unwrap();
    let (url, received) = response_url().await;
    let event: ReindexEvent = serde_json::from_value(create(&url)).unwrap();
    let summary = function.handle(event).await.unwrap();
    assert_eq!(summary.indexed, 60);
    let answer = received.await.unwrap();
    assert_eq!(answer["Status"], "SUCCESS");
    assert_eq!(answer["PhysicalResourceId"], "catalog");
    assert_eq!(answer["RequestId"], "request-1");
    assert_eq!(answer["LogicalResourceId"], "SearchIndex");
    assert_eq!(
        answer["StackId"],
        "arn:aws:cloudformation:us-east-1:123456789012:stack/shop/1"
    );
    assert_eq!(answer["Data"]["Index"], "catalog");
    let index = OpenSearchBackend::new(&osmem.endpoint, "catalog", Signing::Unsigned).unwrap();
    assert_eq!(index.count().await.unwrap(), 60);
    // Deleting the stack leaves nothing to do here, and says so.
    let (url, received) = response_url().await;
    let mut delete = create(&url);
    delete["RequestType"] = json!("Delete");
    delete["PhysicalResourceId"] = json!("catalog");
    let delete: CloudFormationCustomResourceRequest = serde_json::from_value(delete).unwrap();
    function.handle(ReindexEvent::Deploy(delete)).await.unwrap();
    assert_eq!(received.await.unwrap()["Status"], "SUCCESS");
    osmem.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_failed_setup_is_reported_to_cloudformation_instead_of_leaving_it_waiting() {
    let app = TestApp::spawn().await;
    let closed = format!("http://127.0.0.1:{}", devstack::free_port().unwrap());
    let function = reindexer(&app, &[("OPENSEARCH_ENDPOINT", &closed)]).await.unwrap();
    let (url, received) = response_url().await;
    let event: ReindexEvent = serde_json::from_value(create(&url)).unwrap();
    assert!(function.handle(event).await.is_err());
    let answer = received.await.unwrap();
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("setting the search index up failed"),
        "{answer}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_domain_is_found_by_name_through_the_control_plane() {
    let (app, sdk) = TestApp::with_moto().await;
    let control = aws_sdk_opensearch::Client::new(&sdk);
    control.create_domain().domain_name("shop-search").send().await.unwrap();
    let endpoint = domain_endpoint(&control, "shop-search", Some(Instant::now() + Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(endpoint.starts_with("https://shop-search."), "{endpoint}");
    assert!(endpoint.ends_with(".es.amazonaws.com"), "{endpoint}");
    let unknown = domain_endpoint(&control, "no-such-domain", None).await;
    assert!(unknown.is_err());
    // The function itself, named by the domain: init needs no endpoint.
    let named = reindexer(&app, &[("SEARCH_DOMAIN_NAME", "shop-search")]).await;
    assert!(named.is_ok());
    let neither = reindexer(&app, &[]).await.err().unwrap().to_string();
    assert!(
        neither.contains("SEARCH_DOMAIN_NAME or OPENSEARCH_ENDPOINT"),
        "{neither}"
    );
    app.stop().await;
}
