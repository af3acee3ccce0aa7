//! The search index updater: brings a product's document to what the table
//! holds now. It never trusts a message's contents beyond the product id, so
//! applying a message twice, late or out of order leaves the same index.

use super::{SearchBackend, SearchDoc};
use shop_domain::catalog::category_path;
use shop_domain::ids::ProductId;
use shop_store::catalog::{CategoryReader, ProductReader};
use std::collections::BTreeSet;

/// Re-reads these products (one query per product's partition) and upserts
/// their documents, or removes those no longer in the table. Answers the
/// products it could not bring up to date.
pub async fn refresh<B: SearchBackend>(
    store: &(impl ProductReader + CategoryReader + Sync),
    index: &B,
    ids: &BTreeSet<ProductId>,
) -> BTreeSet<ProductId> {
    let categories = match store.categories().await {
        Ok(categories) => categories,
        Err(error) => {
            tracing::warn!(%error, "reading the categories failed");
            return ids.clone();
        }
    };
    let reads = futures::future::join_all(
        ids.iter()
            .map(|id| async move { (id, store.product_with_stock(id).await) }),
    );
    let mut failed = BTreeSet::new();
    let mut docs = Vec::new();
    let mut gone = Vec::new();
    for (id, read) in reads.await {
        match read {
            Ok(Some((product, stock))) => {
                let path = category_path(&categories, &product.category_id);
                docs.push(SearchDoc::new(&product, &stock, path));
            }
            Ok(None) => gone.push(id.clone()),
            Err(error) => {
                tracing::warn!(%error, product = %id, "reading a product for the index failed");
                failed.insert(id.clone());
            }
        }
    }
    let written: Vec<ProductId> = docs
        .iter()
        .map(|d| d.product_id.clone())
        .chain(gone.iter().cloned())
        .collect();
    let upserted = if docs.is_empty() {
        Ok(())
    } else {
        index.upsert(docs).await
    };
    let removed = if gone.is_empty() {
        Ok(())
    } else {
        index.remove(gone).await
    };
    if let Err(error) = upserted.and(removed) {
        tracing::warn!(%error, "writing to the search index failed");
        failed.extend(written);
    }
    failed
}
