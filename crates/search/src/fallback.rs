//! The answer when the search backend is down (its circuit breaker open):
//! the category's products from DynamoDB's category browse, flagged
//! `degraded` by the caller.

use super::{SearchDoc, SearchHit, SearchRequest, SearchSort};
use shop_domain::catalog::{BrowseSort, Category, category_path, leaves_under};
use shop_domain::ids::CategoryId;
use shop_store::StoreError;
use shop_store::catalog::{CategoryBrowser, CategoryReader, ProductReader};

/// What the degraded answer reads.
pub trait Fallback: CategoryReader + CategoryBrowser + ProductReader {}
impl<T: CategoryReader + CategoryBrowser + ProductReader> Fallback for T {}

/// The deepest page the degraded answer walks to.
pub const MAX_DEGRADED_PAGE: u32 = 10;

/// The degraded answer: the category's products (every department's when
/// none is given) in the closest browse order, the other filters applied to
/// each page, the text ignored.
pub async fn degraded(
    store: &impl Fallback,
    categories: &[Category],
    request: &SearchRequest,
) -> Result<(Vec<SearchHit>, bool), StoreError> {
    let leaves: Vec<CategoryId> = match &request.category {
        Some(category) => leaves_under(categories, category).unwrap_or_default(),
        None => categories
            .iter()
            .filter(|c| !categories.iter().any(|child| child.parent_id.as_ref() == Some(&c.id)))
            .map(|c| c.id.clone())
            .collect(),
    };
    let sort = match request.sort {
        SearchSort::PriceAsc => BrowseSort::PriceAsc,
        SearchSort::PriceDesc => BrowseSort::PriceDesc,
        SearchSort::Newest => BrowseSort::Newest,
        SearchSort::Relevance | SearchSort::Rating => BrowseSort::Rating,
    };
    if request.page > MAX_DEGRADED_PAGE || leaves.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut cursor = None;
    let mut page = None;
    for _ in 0..request.page {
        let next = store.browse(&leaves, sort, request.limit, cursor.as_ref()).await?;
        cursor = next.next.clone();
        page = Some(next);
        if cursor.is_none() {
            break;
        }
    }
    let Some(page) = page else {
        return Ok((Vec::new(), false));
    };
    let with_stock =
        futures::future::try_join_all(page.products.iter().map(|p| store.product_with_stock(&p.id))).await?;
    let hits = with_stock
        .into_iter()
        .flatten()
        .map(|(product, stock)| {
            let path = category_path(categories, &product.category_id);
            SearchDoc::new(&product, &stock, path)
        })
        .filter(|doc| request.admits(doc))
        .map(|doc| SearchHit::from(&doc))
        .collect();
    Ok((hits, page.next.is_some()))
}
