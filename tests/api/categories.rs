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

fn category_body(name: &str, parent: Option<&str>) -> String {
    match parent {
        Some(parent) => serde_json::json!({ "name": name, "parentId": parent }).to_string(),
        None => serde_json::json!({ "name": name }).to_string(),
    }
}

/// An empty stack (no seeded tree): an admin builds a catalog from nothing,
/// as on a freshly deployed stack.
#[tokio::test]
async fn an_admin_builds_the_category_tree_and_products_go_into_its_leaves() {
    let app = TestApp::spawn_with(devstack::StackOptions::for_tests()).await;
    let admin = app.admin();

    let garden = app
        .put("/admin/categories/garden", Some(&admin), &category_body("Garden", None))
        .await;
    assert_eq!(garden.status, 201, "{}", garden.body);
    assert_eq!(garden.body["isLeaf"], true);
    assert_eq!(garden.body["parentId"], Value::Null);
    // A leaf with no products takes a subcategory and stops being a leaf.
    let tools = app
        .put(
            "/admin/categories/garden-tools",
            Some(&admin),
            &category_body("Tools", Some("garden")),
        )
        .await;
    assert_eq!(tools.status, 201, "{}", tools.body);
    app.create_product("G1", "Spade", "garden-tools", 19_99).await;
    let refused = app
        .put(
            "/admin/products/G2",
            Some(&admin),
            &crate::helpers::product_body("Rake", "garden", 9_99),
        )
        .await;
    refused.problem(400, "VALIDATION_FAILED");

    // Renaming keeps its place and its products.
    let renamed = app
        .put(
            "/admin/categories/garden-tools",
            Some(&admin),
            &category_body("Garden tools", Some("garden")),
        )
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["name"], "Garden tools");
    assert_eq!(renamed.body["productCount"], 1);
    let tree = app.get("/categories").await;
    let garden = find(tree.body["categories"].as_array().unwrap(), "garden");
    assert_eq!(garden["productCount"], 1);
    assert_eq!(
        find(garden["children"].as_array().unwrap(), "garden-tools")["name"],
        "Garden tools"
    );

    // A leaf that holds products gets no subcategory; a category never moves.
    let below_products = app
        .put(
            "/admin/categories/garden-tools-hand",
            Some(&admin),
            &category_body("Hand tools", Some("garden-tools")),
        )
        .await;
    assert_eq!(
        below_products.problem(409, "CATEGORY_HOLDS_PRODUCTS")["parentId"],
        "garden-tools"
    );
    let moved = app
        .put(
            "/admin/categories/garden-tools",
            Some(&admin),
            &category_body("Tools", None),
        )
        .await;
    assert_eq!(moved.problem(409, "CATEGORY_CANNOT_MOVE")["parentId"], "garden");
    app.stop().await;
}

#[tokio::test]
async fn bad_category_writes_are_refused_and_change_nothing() {
    let app = TestApp::spawn_with(devstack::StackOptions::for_tests()).await;
    let admin = app.admin();
    let before = app.get("/categories").await.body;

    let shopper = app.shopper();
    app.put("/admin/categories/toys", Some(&shopper), &category_body("Toys", None))
        .await
        .problem(403, "FORBIDDEN");
    app.put("/admin/categories/toys", None, &category_body("Toys", None))
        .await
        .problem(401, "UNAUTHORIZED");
    let cases = [
        ("/admin/categories/Toys", category_body("Toys", None), "categoryId"),
        ("/admin/categories/toys", category_body("", None), "name"),
        ("/admin/categories/toys", category_body(&"x".repeat(101), None), "name"),
        (
            "/admin/categories/toys",
            category_body("Toys", Some("toys")),
            "parentId",
        ),
        (
            "/admin/categories/toys",
            category_body("Toys", Some("Not A Slug")),
            "parentId",
        ),
        (
            "/admin/categories/toys",
            category_body("Toys", Some("no-such-parent")),
            "parentId",
        ),
        ("/admin/categories/toys", r#"{"name": 7}"#.to_owned(), ""),
        (
            "/admin/categories/toys",
            r#"{"name": "Toys", "colour": "red"}"#.to_owned(),
            "",
        ),
    ];
    for (path, body, field) in cases {
        let reply = app.put(path, Some(&admin), &body).await;
        assert_eq!(reply.status, 400, "{path} {body}: {}", reply.body);
        if !field.is_empty() {
            assert!(
                reply.fields().contains(&field.to_owned()),
                "{path} {body}: {}",
                reply.body
            );
        }
    }
    app.put("/admin/categories/toys", Some(&admin), "{not json")
        .await
        .problem(400, "MALFORMED_JSON");
    assert_eq!(app.get("/categories").await.body, before);
    app.stop().await;
}

/// A product created in a leaf and a subcategory given to the same leaf, at
/// once: exactly one wins, and products stay in leaves.
#[tokio::test]
async fn a_subcategory_and_a_product_racing_for_the_same_leaf_never_both_win() {
    let app = TestApp::spawn_with(devstack::StackOptions::for_tests()).await;
    let admin = app.admin();
    for round in 0..8 {
        let leaf = format!("leaf-{round}");
        assert_eq!(
            app.put(
                &format!("/admin/categories/{leaf}"),
                Some(&admin),
                &category_body("Leaf", None)
            )
            .await
            .status,
            201
        );
        let child_path = format!("/admin/categories/{leaf}-child");
        let child = category_body("Child", Some(&leaf));
        let product_path = format!("/admin/products/R{round}");
        let product = crate::helpers::product_body("Racer", &leaf, 5_00);
        let (child, product) = tokio::join!(
            app.put(&child_path, Some(&admin), &child),
            app.put(&product_path, Some(&admin), &product),
        );
        let won = [child.status == 201, product.status == 201];
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {} {} / {} {}",
            child.status,
            child.body,
            product.status,
            product.body
        );
        if won[0] {
            product.problem(400, "VALIDATION_FAILED");
        } else {
            child.problem(409, "CATEGORY_HOLDS_PRODUCTS");
        }
        let tree = app.get("/categories").await;
        let node = find(tree.body["categories"].as_array().unwrap(), &leaf);
        let children = node["children"].as_array().unwrap();
        assert_eq!(node["productCount"], if won[0] { 0 } else { 1 });
        assert_eq!(children.len(), usize::from(won[0]));
    }
    app.assert_ledger_adds_up().await;
    app.stop().await;
}
