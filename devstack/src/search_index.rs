//! The local search index: tantivy on disk (or in memory for tests), built
//! from the table when it does not hold every product (first run, after
//! `--reset`, or when the index was deleted), then kept by the functions.

use anyhow::{Context, anyhow};
use aws_sdk_dynamodb::Client;
use shop_domain::catalog::{Category, category_path};
use shop_domain::ids::ProductId;
use shop_domain::stock::{StockLevel, StockShard};
use shop_search::tantivy::TantivyBackend;
use shop_search::{SearchBackend, SearchDoc};
use shop_store::catalog::{product_from_item, stock_from_item};
use shop_store::{Item, keys};
use std::collections::HashMap;
use std::path::Path;

/// Products per index commit while building.
const BATCH: usize = 10_000;
/// Parallel scan segments (the runner's own bulk read; functions never scan).
const SEGMENTS: i32 = 4;

/// Opens the index in `dir`, or in memory.
pub fn open(dir: Option<&Path>) -> anyhow::Result<TantivyBackend> {
    match dir {
        Some(dir) => TantivyBackend::open(dir).map_err(|e| anyhow!("search index at {}: {e}", dir.display())),
        None => TantivyBackend::in_memory().map_err(|e| anyhow!("search index in memory: {e}")),
    }
}

/// Rebuilds the index from the table unless it already holds `products`
/// documents; returns how many it indexed.
pub async fn ensure_built(
    index: &TantivyBackend,
    client: &Client,
    table: &str,
    categories: &[Category],
    products: u64,
) -> anyhow::Result<usize> {
    let indexed = index.count().await.map_err(|e| anyhow!("{e}"))?;
    if indexed == products {
        return Ok(0);
    }
    tracing::info!(indexed, products, "building the search index from the table");
    // Start from an empty index so products deleted meanwhile do not linger.
    index.clear().await.map_err(|e| anyhow!("{e}"))?;
    let total = load_catalog(index, client, table, categories).await?;
    // The batches left many segments; searches are fastest on one.
    index.merge().await.map_err(|e| anyhow!("{e}"))?;
    Ok(total)
}

/// Indexes every product of the table into `index` with one bulk scan of
/// products and stock (the runner's start-up build; a deployed index is
/// rebuilt by `reindex-search`). Returns how many.
async fn load_catalog(
    index: &impl SearchBackend,
    client: &Client,
    table: &str,
    categories: &[Category],
) -> anyhow::Result<usize> {
    let mut scans = Vec::new();
    for segment in 0..SEGMENTS {
        scans.push(scan_segment(client, table, segment));
    }
    let mut found: HashMap<ProductId, (Option<shop_domain::catalog::Product>, Vec<StockShard>)> = HashMap::new();
    for items in futures::future::try_join_all(scans).await? {
        for item in items {
            let sk = match item.get(keys::SK) {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) => sk.clone(),
                _ => continue,
            };
            if sk == keys::PRODUCT_SK {
                let product = product_from_item(&item)?;
                let id = product.id.clone();
                found.entry(id).or_default().0 = Some(product);
            } else if sk.starts_with(keys::STOCK_SK_PREFIX) {
                let pk = match item.get(keys::PK) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) => pk,
                    _ => continue,
                };
                if let Some(id) = keys::product_id_of_pk(pk) {
                    found.entry(id).or_default().1.push(stock_from_item(&item)?);
                }
            }
        }
    }
    let docs: Vec<SearchDoc> = found
        .into_values()
        .filter_map(|(product, shards)| {
            let product = product?;
            let path = category_path(categories, &product.category_id);
            Some(SearchDoc::new(&product, &StockLevel::of(&shards), path))
        })
        .collect();
    for batch in docs.chunks(BATCH) {
        index.upsert(batch.to_vec()).await.map_err(|e| anyhow!("{e}"))?;
    }
    Ok(docs.len())
}

async fn scan_segment(client: &Client, table: &str, segment: i32) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .segment(segment)
            .total_segments(SEGMENTS)
            .filter_expression("begins_with(pk, :product)")
            .expression_attribute_values(
                ":product",
                aws_sdk_dynamodb::types::AttributeValue::S("PRODUCT#".into()),
            )
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("scanning products for the search index")?;
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}
