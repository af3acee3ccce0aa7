//! `GET /search?q=&category=&brand=&brand=&priceMin=&priceMax=&inStock=&sort=&page=&limit=`:
//! fuzzy product search with facets (semantics in `shop_search`). When
//! the search backend is down (its circuit breaker open), the answer comes
//! from DynamoDB's category browse instead, flagged `degraded: true`.

use serde_json::json;
use shop_domain::catalog::{BrowseSort, MAX_PRICE_MINOR, leaves_under};
use shop_domain::ids::CategoryId;
use shop_edge::http::{self, Body, Request, Response, StatusCode};
use shop_edge::problem::{ApiError, FieldError};
use shop_search::{Facets, MAX_PAGE, MAX_TEXT, SearchBackend, SearchHit, SearchRequest, SearchSort, Searcher};
use shop_store::catalog::{CategoryBrowser, CategoryReader, ProductReader};

/// A search's answer can come from DynamoDB when the backend is down.
pub trait Fallback: CategoryReader + CategoryBrowser + ProductReader {}
impl<T: CategoryReader + CategoryBrowser + ProductReader> Fallback for T {}

/// The deepest page the degraded answer walks to.
const MAX_DEGRADED_PAGE: u32 = 10;
/// The most brands one search may filter on.
const MAX_BRANDS: usize = 20;

pub async fn handle<B: SearchBackend>(store: &impl Fallback, searcher: &Searcher<B>, req: Request) -> Response<Body> {
    http::respond(req, |req| search(store, searcher, req)).await
}

/// Field problems collected while reading parameters, to report them all at once.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn take<T>(&mut self, result: Result<Option<T>, ApiError>) -> Option<T> {
        match result {
            Ok(value) => value,
            Err(ApiError::Validation(errors)) => {
                self.0.extend(errors);
                None
            }
            Err(other) => {
                self.0.push(FieldError::new("query", other.to_string()));
                None
            }
        }
    }
}

/// Reads and checks every parameter, reporting all problems at once.
fn parse(req: &Request) -> Result<SearchRequest, ApiError> {
    http::only_query_params(
        req,
        &[
            "q", "category", "brand", "priceMin", "priceMax", "inStock", "sort", "page", "limit",
        ],
    )?;
    let mut problems = Problems::default();
    let text = problems
        .take(http::query_param(req, "q", |q| {
            let q = q.trim();
            if q.chars().count() > MAX_TEXT {
                Err(format!("must be at most {MAX_TEXT} characters"))
            } else {
                Ok(q.to_owned())
            }
        }))
        .filter(|q| !q.is_empty());
    let category = problems.take(http::query_param(req, "category", |c| CategoryId::parse(c)));
    let price = |value: &str| match value.parse::<i64>() {
        Ok(amount) if (0..=MAX_PRICE_MINOR).contains(&amount) => Ok(amount),
        _ => Err(format!("must be a whole number of cents from 0 to {MAX_PRICE_MINOR}")),
    };
    let price_min = problems.take(http::query_param(req, "priceMin", price));
    let price_max = problems.take(http::query_param(req, "priceMax", price));
    let in_stock = problems.take(http::query_param(req, "inStock", |v| match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".to_owned()),
    }));
    let sort = problems.take(http::query_param(req, "sort", SearchSort::parse));
    let page = problems.take(http::query_param(req, "page", |p| match p.parse::<u32>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {MAX_PAGE}")),
    }));
    let limit = problems.take(http::query_param(req, "limit", http::parse_limit));
    let brands = http::query_values(req, "brand");
    if brands.len() > MAX_BRANDS {
        problems
            .0
            .push(FieldError::new("brand", format!("at most {MAX_BRANDS} brands")));
    }
    if brands.iter().any(|b| b.trim().is_empty() || b.chars().count() > 100) {
        problems
            .0
            .push(FieldError::new("brand", "each brand must be 1 to 100 characters"));
    }
    if let (Some(min), Some(max)) = (price_min, price_max)
        && min > max
    {
        problems
            .0
            .push(FieldError::new("priceMin", "must not be more than priceMax"));
    }
    if !problems.0.is_empty() {
        return Err(ApiError::Validation(problems.0));
    }
    Ok(SearchRequest {
        text,
        category,
        brands,
        price_min,
        price_max,
        in_stock_only: in_stock.unwrap_or(false),
        sort: sort.unwrap_or_default(),
        page: page.unwrap_or(1),
        limit: limit.unwrap_or(shop_search::DEFAULT_LIMIT),
    })
}

async fn search<B: SearchBackend>(
    store: &impl Fallback,
    searcher: &Searcher<B>,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let request = parse(&req)?;
    let categories = store.categories().await?;
    if let Some(category) = &request.category
        && leaves_under(&categories, category).is_none()
    {
        return Err(ApiError::not_found("category", category));
    }
    let (hits, total, facets, degraded, has_more) = match searcher.search(&request).await {
        Ok(results) => {
            let shown = request.offset() as u64 + results.hits.len() as u64;
            let hits: Vec<SearchHit> = results.hits.iter().map(SearchHit::from).collect();
            (hits, results.total, results.facets, false, results.total > shown)
        }
        Err(error) => {
            tracing::warn!(%error, "search backend unavailable; answering from category browse");
            let (hits, has_more) = degraded(store, &categories, &request).await?;
            let facets = Facets {
                categories: Vec::new(),
                brands: Vec::new(),
                price_ranges: shop_search::price_buckets([0; 4]),
                avg_rating: None,
            };
            let shown = hits.len() as u64;
            (hits, shown, facets, true, has_more)
        }
    };
    Ok(http::json(
        StatusCode::OK,
        &json!({
            "products": hits,
            "facets": facets,
            "totalCount": total,
            "page": request.page,
            "limit": request.limit,
            "sort": request.sort.as_str(),
            "hasMore": has_more,
            "degraded": degraded,
        }),
    ))
}

/// The degraded answer: the category's products (every department's when
/// none is given) in the closest browse order, the other filters applied to
/// each page, the text ignored.
async fn degraded(
    store: &impl Fallback,
    categories: &[shop_domain::catalog::Category],
    request: &SearchRequest,
) -> Result<(Vec<SearchHit>, bool), ApiError> {
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
            let path = shop_domain::catalog::category_path(categories, &product.category_id);
            shop_search::SearchDoc::new(&product, &stock, path)
        })
        .filter(|doc| request.admits(doc))
        .map(|doc| SearchHit::from(&doc))
        .collect();
    Ok((hits, page.next.is_some()))
}
