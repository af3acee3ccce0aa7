//! `GET /search/suggest?q=&limit=`: products for the words typed so far,
//! for the storefront's header search box. The same index and semantics as
//! `GET /search` (`shop_search`), with the last word also matching the
//! start of a title word, so "wireless headph" and "hedphones" both find
//! headphones. Nothing typed (a missing or blank `q`, or only punctuation)
//! suggests nothing. When the search backend is down, the answer is empty and
//! flagged `degraded: true`: suggestions are a convenience, and the search
//! page has its own fallback.

use serde::Serialize;
use shop_edge::http::{self, Body, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_search::backend::AnyBackend;
use shop_search::{SearchBackend, SearchHit, Searcher, query};
use shop_store::DynamoStore;
use std::sync::Arc;

pub async fn handle<B: SearchBackend>(_: &DynamoStore, searcher: &Searcher<B>, req: Request) -> Response<Body> {
    http::respond(req, |req| suggest(searcher, req)).await
}

shop_edge::function!(SearchSuggest, Request => Response<Body>, handle, Arc<Searcher<AnyBackend>> = |init| init
    .provided_or(async { Ok(Arc::new(Searcher::new(AnyBackend::from_lookup(init.env).await?))) })
    .await?);

async fn suggest<B: SearchBackend>(searcher: &Searcher<B>, req: Request) -> Result<Response<Body>, ApiError> {
    http::only_query_params(&req, query::SUGGEST_PARAMETERS)?;
    let request = query::parse_suggest(|name| http::query_values(&req, name)).map_err(ApiError::Validation)?;
    let typed = request.text.as_deref().unwrap_or_default();
    let (suggestions, degraded) = if shop_search::words(typed).is_empty() {
        // Nothing typed yet, or only punctuation: nothing to complete (a
        // search would list everything).
        (Vec::new(), false)
    } else {
        match searcher.search(&request).await {
            Ok(results) => (results.hits.iter().map(SearchHit::from).collect(), false),
            Err(error) => {
                tracing::warn!(%error, "search backend unavailable; no suggestions");
                shop_edge::metrics::count(shop_edge::metrics::SEARCH_DEGRADED, 1);
                (Vec::new(), true)
            }
        }
    };
    let answer = Suggestions {
        query: request.text.unwrap_or_default(),
        suggestions,
        degraded,
    };
    Ok(http::json(StatusCode::OK, &answer))
}

/// The answer: the best matches first, at most `limit`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Suggestions {
    /// The words the suggestions are for (trimmed), so that a page can drop
    /// answers to what the shopper has since typed over.
    query: String,
    suggestions: Vec<SearchHit>,
    degraded: bool,
}
