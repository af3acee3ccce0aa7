//! `devstack import`: files and the demo catalog loaded through the API,
//! bad rows named by line, and a resumed import that sends no row twice
//! beyond the requests that were in flight.

use crate::helpers::TestApp;
use devstack::client::ApiClient;
use devstack::import::{self, ImportOptions, Input, Report, Stopped};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn api(app: &TestApp) -> ApiClient {
    ApiClient::new(&app.stack.api_url)
        .expect("the stack's URL")
        .with_token(app.admin())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn import_files(app: &TestApp, files: &[&Path]) -> Report {
    let inputs = files.iter().map(|f| Input::File(f.to_path_buf())).collect();
    import::run(ImportOptions::new(api(app), inputs))
        .await
        .expect("the import runs")
}

/// `(line, reason)` of every bad row of `file`.
fn bad_rows(report: &Report, file: &Path) -> Vec<(u64, String)> {
    let name = file.display().to_string();
    report
        .bad
        .iter()
        .filter(|b| b.file == name)
        .map(|b| (b.line, b.reason.clone()))
        .collect()
}

#[track_caller]
fn assert_bad(bad: &[(u64, String)], expected: &[(u64, &str)]) {
    let lines: Vec<u64> = bad.iter().map(|(line, _)| *line).collect();
    let wanted: Vec<u64> = expected.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, wanted, "bad rows: {bad:#?}");
    for ((line, reason), (_, part)) in bad.iter().zip(expected) {
        assert!(reason.contains(part), "line {line}: {reason:?} does not say {part:?}");
    }
}

/// The product ids of a category's first page, cheapest first.
async fn listing(app: &TestApp, category: &shop_domain::ids::CategoryId) -> Vec<Value> {
    let page = app
        .get(&format!("/categories/{category}/products?sort=price_asc&limit=50"))
        .await
        .body;
    page["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["productId"].clone())
        .collect()
}

fn find<'a>(nodes: &'a Value, id: &str) -> &'a Value {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["categoryId"] == id)
        .unwrap_or_else(|| panic!("no category {id} in {nodes}"))
}

#[tokio::test]
async fn a_jsonl_import_loads_the_good_rows_and_names_each_bad_one_by_line() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "catalog.jsonl",
        &[
            // Children before parents in the file: the import orders them.
            r#"{"kind":"category","id":"garden-tools","name":"Tools","parentId":"garden"}"#,
            r#"{"kind":"category","id":"garden","name":"Garden"}"#,
            r#"{"kind":"product","id":"G1","title":"Spade","brand":"Acme","categoryId":"garden-tools","price":{"amount":1999,"currency":"USD"},"onHand":5}"#,
            r#"{"kind":"product","id":"G2","title":"Fork","#,
            r#"{"kind":"product","id":"G3","title":"Rake","brand":"Acme","categoryId":"garden-tools","price":{"amount":"12.99","currency":"USD"}}"#,
            r#"{"kind":"product","id":"G4","title":"Hoe","categoryId":"garden-tools","price":"9.99"}"#,
            r#"{"kind":"product","id":"G5","title":"Shears","brand":"Acme","categoryId":"garden-tools","price":{"amount":-100,"currency":"USD"}}"#,
            r#"{"kind":"stock","productId":"G1X","onHand":-3}"#,
            r#"{"kind":"product","id":"G7","title":"Pot","brand":"Acme","categoryId":"no-such-category","price":"5.00"}"#,
            r#"{"kind":"product","id":"G8","title":"Gadget","brand":"Acme","categoryId":"electronics","price":"5.00"}"#,
            r#"{"kind":"product","id":"G9","title":"Crate","brand":"Acme","categoryId":"home-kitchen-storage","price":"7.5"}"#,
            r#"{"kind":"stock","productId":"G9","onHand":12,"shards":2}"#,
            "",
            r#"{"kind":"product","id":"G10","title":"Trug","brand":"Acme","categoryId":"garden","price":"3.00"}"#,
            r#"{"kind":"stock","productId":"NOT-THERE","onHand":1}"#,
            r#"{"kind":"product","id":"G1","title":"Spade again","brand":"Acme","categoryId":"garden-tools","price":"1.00"}"#,
        ]
        .join("\n"),
    );

    let report = import_files(&app, &[&file]).await;

    assert!(!report.is_success());
    assert_eq!(report.stopped, None);
    assert_eq!(report.imported, 5, "{report}");
    assert!(report.to_string().starts_with("5 imported, 10 bad rows"), "{report}");
    assert_bad(
        &bad_rows(&report, &file),
        &[
            (4, "not valid JSON"),
            (5, "price.amount: must be a whole number"),
            (6, "brand: missing"),
            (7, "price.amount: must be between 1 and"),
            (8, "onHand: must be between 0 and"),
            (9, "no category no-such-category"),
            (10, "electronics has subcategories"),
            (14, "garden has subcategories (garden-tools)"),
            (15, "the API refused it: 404"),
            (16, "product G1 is already set on"),
        ],
    );
    let spade = app.get("/products/G1").await;
    assert_eq!(spade.status, 200);
    assert_eq!(spade.body["title"], "Spade");
    assert_eq!(spade.body["price"], json!({ "amount": 1999, "currency": "USD" }));
    assert_eq!(spade.body["available"], 5);
    let crate_ = app.get("/products/G9").await;
    assert_eq!(crate_.body["price"]["amount"], 750);
    assert_eq!(crate_.body["available"], 12);
    for refused in ["G2", "G3", "G4", "G5", "G7", "G8", "G10"] {
        assert_eq!(app.get(&format!("/products/{refused}")).await.status, 404, "{refused}");
    }
    let tree = app.get("/categories").await.body;
    let garden = find(&tree["categories"], "garden");
    assert_eq!(garden["productCount"], 1);
    assert_eq!(find(&garden["children"], "garden-tools")["name"], "Tools");
    app.stop().await;
}

#[tokio::test]
async fn csv_files_import_together_categories_first_with_bad_records_named_by_line() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    // The products file comes first on the command line; its category is
    // in the second file.
    let products = write(
        dir.path(),
        "products.csv",
        "id,title,description,brand,categoryId,price,onHand\n\
         C1,Kettle,Boils water.,Acme,home-kitchen-gadgets,24.99,10\n\
         C2,Toaster,\"Two slots,\nbrowns evenly.\",Acme,home-kitchen-small-appliances,39,3\n\
         C3,Blender,,Acme,home-kitchen-small-appliances,abc,1\n\
         C4,,,Acme,home-kitchen-small-appliances,10.00,1\n\
         C5,Mixer,,Acme,home-kitchen-small-appliances,-1.00,1\n\
         C6,Grill,,Acme,home-kitchen-small-appliances,50.00,-2\n\
         C7,Lamp,,Acme,nowhere,10.00,1\n\
         C8,Thing,,Acme,home-kitchen,10.00,1\n\
         C9,Short,row\n\
         C10,Mug,,Acme,home-kitchen-small-appliances,4.50,many\n\
         C11,Pan,,Acme,home-kitchen-cookware,12.00,\n",
    );
    let categories = write(
        dir.path(),
        "categories.csv",
        "Category ID,Name,Parent ID\nhome-kitchen-gadgets,Gadgets,home-kitchen\nBad Id,Bad,\n",
    );

    let report = import_files(&app, &[&products, &categories]).await;

    assert!(!report.is_success());
    assert_eq!(report.imported, 4, "{report}: {:#?}", report.bad);
    assert_bad(
        &bad_rows(&report, &products),
        &[
            (5, "price: \"abc\" is not an amount"),
            (6, "title: missing"),
            (7, "price.amount: must be between 1 and"),
            (8, "onHand: must be between 0 and"),
            (9, "no category nowhere"),
            (10, "home-kitchen has subcategories"),
            (11, "3 cells, but the header has 7"),
            (12, "onHand: must be a whole number, not \"many\""),
        ],
    );
    assert_bad(&bad_rows(&report, &categories), &[(3, "id: a category id")]);
    let kettle = app.get("/products/C1").await.body;
    assert_eq!(kettle["categoryId"], "home-kitchen-gadgets");
    assert_eq!(kettle["price"]["amount"], 2499);
    assert_eq!(kettle["available"], 10);
    let toaster = app.get("/products/C2").await.body;
    assert_eq!(toaster["description"], "Two slots,\nbrowns evenly.");
    assert_eq!(toaster["price"]["amount"], 3900);
    assert_eq!(toaster["available"], 3);
    let pan = app.get("/products/C11").await.body;
    assert_eq!(pan["available"], 0, "an empty onHand leaves the stock alone");
    assert_eq!(
        app.category_count("home-kitchen", Some("home-kitchen-gadgets")).await,
        1
    );
    app.stop().await;
}

/// 60 products with their stock, in one new category.
fn resumable_catalog() -> (String, usize) {
    let mut lines = vec![json!({"kind": "category", "id": "bulk", "name": "Bulk"}).to_string()];
    for n in 1..=60 {
        lines.push(
            json!({
                "kind": "product", "id": format!("B{n:03}"), "title": format!("Bulk item {n}"),
                "brand": "Acme", "categoryId": "bulk", "price": format!("{n}.25"), "onHand": n,
            })
            .to_string(),
        );
    }
    let rows = lines.len();
    (lines.join("\n") + "\n", rows)
}

#[tokio::test]
async fn a_resumed_import_skips_what_was_imported_and_sends_no_row_twice_beyond_those_in_flight() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let (text, rows) = resumable_catalog();
    let file = write(dir.path(), "bulk.jsonl", &text);
    let concurrency = 4;
    let options = |resume: bool, stop_after: Option<usize>| ImportOptions {
        concurrency,
        resume,
        stop_after,
        ..ImportOptions::new(api(&app), vec![Input::File(file.clone())])
    };

    let first = import::run(options(false, Some(25))).await.unwrap();

    assert_eq!(first.stopped, Some(Stopped::Interrupted));
    assert_eq!(first.imported, 25);
    assert!(first.bad.is_empty(), "{:?}", first.bad);
    let checkpoint = std::fs::read_to_string(import::checkpoint_path(&file)).unwrap();
    assert_eq!(checkpoint.lines().count(), 2 + 25, "{checkpoint}");

    let second = import::run(options(true, None)).await.unwrap();

    assert!(second.is_success(), "{second}");
    assert_eq!(second.skipped, 25);
    assert_eq!(second.imported, rows - 25);
    // Only the rows in flight when the first run stopped went twice.
    assert_eq!(second.rows_sent, rows - 25);
    assert!(first.rows_sent + second.rows_sent <= rows + concurrency);
    // Each product row is two PUTs; each run also reads the categories once.
    let one_pass = (1 + 2 * (rows - 1)) as u64;
    assert!(
        first.requests + second.requests <= one_pass + 2 + 2 * concurrency as u64,
        "{} + {} requests",
        first.requests,
        second.requests
    );
    for n in 1..=60 {
        let product = app.get(&format!("/products/B{n:03}")).await.body;
        assert_eq!(product["title"], format!("Bulk item {n}"));
        assert_eq!(product["price"]["amount"], n * 100 + 25);
        assert_eq!(product["available"], n);
    }
    let tree = app.get("/categories").await.body;
    assert_eq!(
        find(&tree["categories"], "bulk")["productCount"],
        60,
        "each product once"
    );

    // Without --resume the checkpoint is started over, and every row sent.
    let again = import::run(options(false, None)).await.unwrap();
    assert!(again.is_success(), "{again}");
    assert_eq!((again.imported, again.skipped), (rows, 0));
    assert!(
        again.notes.iter().any(|n| n.contains("ignoring the checkpoint")),
        "{:?}",
        again.notes
    );
    let tree = app.get("/categories").await.body;
    assert_eq!(find(&tree["categories"], "bulk")["productCount"], 60);
    app.stop().await;
}

#[tokio::test]
async fn a_resumed_import_of_an_edited_file_sends_the_edited_rows_again() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let (text, rows) = resumable_catalog();
    let file = write(dir.path(), "bulk.jsonl", &text);
    let first = import_files(&app, &[&file]).await;
    assert!(first.is_success(), "{first}");

    let edited = text.replace("\"Bulk item 7\"", "\"Bulk item seven\"");
    std::fs::write(&file, format!("\n{edited}")).unwrap();
    let second = import::run(ImportOptions {
        resume: true,
        ..ImportOptions::new(api(&app), vec![Input::File(file.clone())])
    })
    .await
    .unwrap();

    assert!(second.is_success(), "{second}");
    assert_eq!((second.imported, second.skipped), (1, rows - 1));
    assert_eq!(app.get("/products/B007").await.body["title"], "Bulk item seven");
    app.stop().await;
}

#[tokio::test]
async fn the_demo_catalog_imported_through_the_api_is_the_one_the_seeder_writes() {
    // Nothing seeded: not even the category tree.
    let imported = TestApp::spawn_with(devstack::StackOptions::for_tests()).await;
    assert_eq!(imported.get("/categories").await.body["categories"], json!([]));

    let report = import::run(ImportOptions::new(api(&imported), vec![Input::Demo { products: 50 }]))
        .await
        .unwrap();

    assert!(report.is_success(), "{report}: {:?}", report.bad);
    assert_eq!(report.imported, devstack::seed::categories().len() + 50);
    let seeded = TestApp::seeded(50).await;
    assert_eq!(
        imported.get("/categories").await.body,
        seeded.get("/categories").await.body
    );
    for n in 1..=50 {
        let id = devstack::seed::product_id(n);
        let (a, b) = (
            imported.get(&format!("/products/{id}")).await.body,
            seeded.get(&format!("/products/{id}")).await.body,
        );
        // The API takes no rating, review count or creation time.
        for field in [
            "productId",
            "title",
            "description",
            "brand",
            "categoryId",
            "price",
            "available",
            "inStock",
        ] {
            assert_eq!(a[field], b[field], "{id} {field}");
        }
    }
    let leaf = devstack::seed::categories()
        .into_iter()
        .find(|c| c.parent_id.is_some())
        .unwrap()
        .id;
    assert_eq!(listing(&imported, &leaf).await, listing(&seeded, &leaf).await);
    imported.stop().await;
    seeded.stop().await;
}
