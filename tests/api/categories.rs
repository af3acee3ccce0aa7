use crate::helpers::TestApp;
use serde_json::Value;

fn find<'a>(nodes: &'a [Value], id: &str) -> &'a Value {
    nodes
        .iter()
        .find(|n| n["categoryId"] == id)
        .unwrap_or_else(|| panic!("no category {id}"))
}

#[tokio::test]
async fn the_category_tree_counts_every_seeded_product_once() {
    let app = TestApp::seeded(300).await;

    let reply = app.get("/categories").await;

    assert_eq!(reply.status, 200);
    let departments = reply.body["categories"].as_array().unwrap();
    assert_eq!(
        departments.len(),
        devstack::seed::categories()
            .iter()
            .filter(|c| c.parent_id.is_none())
            .count()
    );
    let total: u64 = departments.iter().map(|d| d["productCount"].as_u64().unwrap()).sum();
    assert_eq!(total, 300);
    for department in departments {
        let children = department["children"].as_array().unwrap();
        assert!(!children.is_empty());
        let sum: u64 = children.iter().map(|c| c["productCount"].as_u64().unwrap()).sum();
        assert_eq!(department["productCount"].as_u64().unwrap(), sum);
    }
    // A brute-force count from the seed agrees for one leaf.
    let headphones = (1..=300)
        .filter(|n| devstack::seed::product(*n).0.category_id.as_str() == "electronics-headphones")
        .count();
    let electronics = find(departments, "electronics");
    let leaf = find(electronics["children"].as_array().unwrap(), "electronics-headphones");
    assert_eq!(leaf["productCount"].as_u64().unwrap() as usize, headphones);
    app.stop().await;
}

#[tokio::test]
async fn the_category_list_refuses_unknown_parameters() {
    let app = TestApp::spawn().await;
    let reply = app.get("/categories?depth=2").await;
    reply.problem(400, "VALIDATION_FAILED");
    assert_eq!(reply.fields(), ["depth"]);
    app.stop().await;
}
