//! The search index on Amazon OpenSearch Service (or anything speaking its
//! REST API: `osmem-server` in the tests), over HTTP with reqwest.
//! Requests to AWS are signed with SigV4 (service `es`) using the SDK's
//! credentials; a local endpoint is called unsigned.
//!
//! How the semantics of [`super`] map onto OpenSearch:
//!
//! - **Mapping** ([`OpenSearchBackend::ensure_index`]): one shard (so BM25
//!   statistics and facet counts are exact, not per-shard estimates), ids,
//!   brand and categories as `keyword`, prices and counts as numbers. The
//!   title's analyzer is [`super::words`] in OpenSearch terms: runs of
//!   letters and digits, lowercased; words of 40 characters or more are not
//!   indexed, as in tantivy. Queries are analyzed without that length
//!   filter, so a query word that long finds nothing rather than being
//!   dropped.
//! - **Text**: one `match` clause per query word (split with
//!   [`super::words`]), all required, each with `fuzziness: AUTO` (0 edits up
//!   to 2 characters, 1 up to 5, 2 beyond: [`super::fuzzy_distance`]) and
//!   transpositions counting as one edit. A word expands to at most
//!   [`MAX_EXPANSIONS`] title terms (OpenSearch's cap on clauses); tantivy
//!   has no cap. For suggestions the last word's clause is a `bool` of that
//!   `match` or a `prefix` query ([`super::word_matches`]).
//! - **Filters**: `filter` clauses, so that only the text feeds BM25.
//! - **Score**: `function_score` multiplying BM25 by 2 when in stock and by
//!   √rating for ratings of 1.0 and more (below, no factor: √1).
//! - **Order**: the sort's fields, then `product_id` ascending.
//! - **Facets**: `terms` aggregations on the leaf category and the brand
//!   (most first, then by key), a `range` aggregation on the price, `avg`
//!   on the rating; `track_total_hits` makes the total exact.
//! - **Changes**: `_bulk` requests of at most [`BULK_BATCH`] products that
//!   wait for the refresh, so a search right after `upsert` or `remove` sees
//!   the change. A batch is applied on its own: when a later batch fails,
//!   the earlier ones stay (upserts and removals can simply be retried).

use super::{
    Facets, MAX_LIMIT, MAX_PAGE, PRICE_RANGES, SearchBackend, SearchDoc, SearchError, SearchRequest, SearchResults,
    SearchSort, price_buckets, top_buckets, words,
};
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shop_domain::catalog::Rating;
use shop_domain::ids::{CategoryId, ProductId};
use shop_domain::money::{Currency, Money};
use shop_domain::report::error_chain;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

/// The most title terms one query word may expand to: OpenSearch's default
/// `indices.query.bool.max_clause_count`, which caps `max_expansions`
/// anyway. Nearest terms are kept first.
pub const MAX_EXPANSIONS: u32 = 1024;

/// Products per `_bulk` request (a few hundred KB; AWS accepts 10 MB).
pub const BULK_BATCH: usize = 500;

/// The SigV4 service name of Amazon OpenSearch Service domains.
const SIGNING_SERVICE: &str = "es";

/// Credentials are fetched again this long before they expire.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);

/// Field names, shared by the mapping, the documents and the queries.
mod field {
    pub const ID: &str = "product_id";
    pub const TITLE: &str = "title";
    pub const BRAND: &str = "brand";
    pub const CATEGORY: &str = "category_id";
    pub const CATEGORY_PATH: &str = "category_path";
    pub const PRICE: &str = "price";
    pub const RATING: &str = "rating_tenths";
    pub const REVIEWS: &str = "review_count";
    pub const AVAILABLE: &str = "available";
    pub const CREATED_AT: &str = "created_at";
}

/// How requests are authenticated.
#[derive(Clone)]
pub enum Signing {
    /// Plain requests: a local OpenSearch or osmem-server.
    Unsigned,
    /// SigV4 with these credentials, for Amazon OpenSearch Service in
    /// `region`.
    SigV4 {
        region: String,
        credentials: SharedCredentialsProvider,
    },
}

impl Signing {
    /// SigV4 with the SDK configuration's region and credentials (in Lambda,
    /// the function's role).
    pub fn from_sdk(sdk: &SdkConfig) -> Result<Self, SearchError> {
        let region = sdk
            .region()
            .ok_or_else(|| SearchError::Failed("signing OpenSearch requests needs an AWS region".into()))?;
        let credentials = sdk
            .credentials_provider()
            .ok_or_else(|| SearchError::Failed("signing OpenSearch requests needs AWS credentials".into()))?;
        Ok(Self::SigV4 {
            region: region.to_string(),
            credentials,
        })
    }
}

impl fmt::Debug for Signing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsigned => f.write_str("Unsigned"),
            Self::SigV4 { region, .. } => f.debug_struct("SigV4").field("region", region).finish_non_exhaustive(),
        }
    }
}

/// A product search index in OpenSearch. Clones share the connection pool
/// and the cached credentials.
#[derive(Clone)]
pub struct OpenSearchBackend {
    http: reqwest::Client,
    /// Scheme, host and port, without a trailing slash.
    endpoint: String,
    index: String,
    signer: Option<Arc<Signer>>,
}

impl fmt::Debug for OpenSearchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenSearchBackend")
            .field("endpoint", &self.endpoint)
            .field("index", &self.index)
            .field("signed", &self.signer.is_some())
            .finish()
    }
}

impl OpenSearchBackend {
    /// The index `index` at `endpoint` (e.g. `https://search-shop-….es.amazonaws.com`).
    pub fn new(endpoint: &str, index: &str, signing: Signing) -> Result<Self, SearchError> {
        let url = reqwest::Url::parse(endpoint)
            .map_err(|e| SearchError::Failed(format!("the OpenSearch endpoint {endpoint:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(SearchError::Failed(format!(
                "the OpenSearch endpoint {endpoint:?} is not an http(s) URL"
            )));
        }
        check_index_name(index)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SearchError::Failed(format!("building the HTTP client: {}", error_chain(&e))))?;
        let signer = match signing {
            Signing::Unsigned => None,
            Signing::SigV4 { region, credentials } => Some(Arc::new(Signer {
                region,
                credentials,
                cached: Mutex::new(None),
            })),
        };
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            index: index.to_owned(),
            signer,
        })
    }

    /// Creates the index with its settings and mapping unless it exists.
    /// An existing index is left as it is.
    pub async fn ensure_index(&self) -> Result<(), SearchError> {
        let reply = self
            .send(
                Method::PUT,
                &format!("/{}", self.index),
                Some(Payload::json(&index_definition())?),
            )
            .await?;
        if reply.status == StatusCode::BAD_REQUEST
            && reply.error_type().as_deref() == Some("resource_already_exists_exception")
        {
            return Ok(());
        }
        reply.json::<Value>().map(drop)
    }

    /// Sends `_bulk` requests of at most [`BULK_BATCH`] actions, each
    /// followed by its document when it has one.
    async fn bulk(&self, actions: Vec<(BulkAction<'_>, Option<IndexedProduct>)>) -> Result<(), SearchError> {
        for batch in actions.chunks(BULK_BATCH) {
            let mut body = Vec::new();
            for (action, document) in batch {
                serde_json::to_writer(&mut body, action).map_err(encoding_error)?;
                body.push(b'\n');
                if let Some(document) = document {
                    serde_json::to_writer(&mut body, document).map_err(encoding_error)?;
                    body.push(b'\n');
                }
            }
            let payload = Payload {
                content_type: "application/x-ndjson",
                bytes: body,
            };
            let path = format!("/{}/_bulk?refresh=wait_for", self.index);
            let reply: BulkResponse = self.send(Method::POST, &path, Some(payload)).await?.json()?;
            reply.check()?;
        }
        Ok(())
    }

    /// One request; only a failure to get an answer is an error here.
    async fn send(&self, method: Method, path: &str, payload: Option<Payload>) -> Result<Reply, SearchError> {
        let url = format!("{}{path}", self.endpoint);
        let mut request = self.http.request(method.clone(), &url);
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(payload) = &payload {
            headers.push(("content-type", payload.content_type));
        }
        if let Some(signer) = &self.signer {
            let body = payload.as_ref().map_or(&[][..], |p| p.bytes.as_slice());
            for (name, value) in signer.sign(method.as_str(), &url, &headers, body).await? {
                request = request.header(name, value);
            }
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(payload) = payload {
            request = request.body(payload.bytes);
        }
        let unavailable = |e: reqwest::Error| SearchError::Unavailable(format!("{method} {path}: {}", error_chain(&e)));
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable)?.to_vec();
        Ok(Reply {
            what: format!("{method} {path}"),
            status,
            body,
        })
    }
}

impl SearchBackend for OpenSearchBackend {
    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let payload = Payload::json(&search_body(request))?;
        let path = format!("/{}/_search", self.index);
        let response: SearchResponse = self.send(Method::POST, &path, Some(payload)).await?.json()?;
        response.into_results()
    }

    async fn upsert(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        let actions = docs
            .iter()
            .map(|doc| {
                let action = BulkAction::Index {
                    id: doc.product_id.as_str(),
                };
                (action, Some(IndexedProduct::new(doc)))
            })
            .collect();
        self.bulk(actions).await
    }

    async fn remove(&self, ids: Vec<ProductId>) -> Result<(), SearchError> {
        let actions = ids
            .iter()
            .map(|id| (BulkAction::Delete { id: id.as_str() }, None))
            .collect();
        self.bulk(actions).await
    }

    async fn count(&self) -> Result<u64, SearchError> {
        #[derive(Deserialize)]
        struct Count {
            count: u64,
        }
        let path = format!("/{}/_count", self.index);
        let reply: Count = self.send(Method::GET, &path, None).await?.json()?;
        Ok(reply.count)
    }
}

/// OpenSearch's rules for index names, kept to what needs no escaping in a
/// URL path: lowercase letters, digits, `-`, `_` and `.`, not starting with
/// `-`, `_` or `.`.
fn check_index_name(index: &str) -> Result<(), SearchError> {
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.');
    let valid =
        !index.is_empty() && index.len() <= 255 && index.chars().all(valid_char) && !index.starts_with(['-', '_', '.']);
    if valid {
        Ok(())
    } else {
        Err(SearchError::Failed(format!(
            "{index:?} is not an index name (lowercase letters, digits, '-', '_', '.'; not starting with '-', '_' or '.')"
        )))
    }
}

fn encoding_error(e: serde_json::Error) -> SearchError {
    SearchError::Failed(format!("encoding a request: {e}"))
}

/// A request body.
struct Payload {
    content_type: &'static str,
    bytes: Vec<u8>,
}

impl Payload {
    fn json(value: &impl Serialize) -> Result<Self, SearchError> {
        Ok(Self {
            content_type: "application/json",
            bytes: serde_json::to_vec(value).map_err(encoding_error)?,
        })
    }
}

/// An answer, whatever its status.
struct Reply {
    /// The request, for messages.
    what: String,
    status: StatusCode,
    body: Vec<u8>,
}

impl Reply {
    /// The body of a successful answer. Server errors and throttling mean
    /// the service is unavailable; other refusals mean a bug or a broken
    /// index.
    fn json<T: DeserializeOwned>(self) -> Result<T, SearchError> {
        if !self.status.is_success() {
            let message = format!("{} answered {}: {}", self.what, self.status, self.error_message());
            return Err(
                if self.status.is_server_error() || self.status == StatusCode::TOO_MANY_REQUESTS {
                    SearchError::Unavailable(message)
                } else {
                    SearchError::Failed(message)
                },
            );
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| SearchError::Failed(format!("{} answered something unreadable: {e}", self.what)))
    }

    /// OpenSearch's `error.type`, if the body has one.
    fn error_type(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body["error"]["type"].as_str().map(str::to_owned)
    }

    /// The most telling part of an error body: OpenSearch's `error.type`
    /// and `error.reason`, AWS's `message`, or the text itself.
    fn error_message(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let Ok(body) = serde_json::from_slice::<Value>(&self.body) else {
            return text.chars().take(500).collect();
        };
        match (&body["error"], &body["message"]) {
            (Value::Object(error), _) => format!(
                "{}: {}",
                error.get("type").and_then(Value::as_str).unwrap_or("error"),
                error.get("reason").and_then(Value::as_str).unwrap_or("no reason given")
            ),
            (Value::String(error), _) => error.clone(),
            (_, Value::String(message)) => message.clone(),
            _ => text.chars().take(500).collect(),
        }
    }
}

/// Signs requests with SigV4, caching the credentials until shortly before
/// they expire.
struct Signer {
    region: String,
    credentials: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl Signer {
    async fn credentials(&self) -> Result<Credentials, SearchError> {
        let fresh = |c: &Credentials| c.expiry().is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN);
        if let Some(credentials) = self.lock().as_ref().filter(|c| fresh(c)) {
            return Ok(credentials.clone());
        }
        let credentials =
            self.credentials.provide_credentials().await.map_err(|e| {
                SearchError::Unavailable(format!("no AWS credentials to sign with: {}", error_chain(&e)))
            })?;
        *self.lock() = Some(credentials.clone());
        Ok(credentials)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Credentials>> {
        // The cache holds a plain value: a panic elsewhere cannot leave it
        // half-written.
        self.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The headers that sign this request (`authorization`, `x-amz-date`,
    /// `x-amz-content-sha256`, and the session token if there is one).
    async fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, SearchError> {
        let identity = self.credentials().await?.into();
        let mut settings = SigningSettings::default();
        // Serverless collections require the payload hash header; domains
        // accept it.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_SERVICE)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| SearchError::Failed(format!("SigV4 parameters: {e}")))?
            .into();
        let request = SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(body))
            .map_err(|e| SearchError::Failed(format!("signing {method} {url}: {e}")))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| SearchError::Failed(format!("signing {method} {url}: {e}")))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}

/// The index's settings and mapping.
fn index_definition() -> Value {
    json!({
        "settings": {
            "number_of_shards": 1,
            // Every page a request may ask for.
            "max_result_window": MAX_PAGE * MAX_LIMIT,
            "analysis": {
                "tokenizer": {
                    // The runs of letters (with their marks) and digits are
                    // the tokens: `super::words`.
                    "words": { "type": "pattern", "pattern": "[\\p{L}\\p{M}\\p{N}]+", "group": 0 }
                },
                "filter": {
                    // tantivy drops words of 40 bytes or more.
                    "indexed_length": { "type": "length", "max": super::INDEXED_WORD_BYTES - 1 }
                },
                "analyzer": {
                    "title": { "type": "custom", "tokenizer": "words", "filter": ["lowercase", "indexed_length"] },
                    "title_query": { "type": "custom", "tokenizer": "words", "filter": ["lowercase"] }
                }
            }
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                field::ID: { "type": "keyword" },
                field::TITLE: { "type": "text", "analyzer": "title", "search_analyzer": "title_query" },
                field::BRAND: { "type": "keyword" },
                field::CATEGORY: { "type": "keyword" },
                field::CATEGORY_PATH: { "type": "keyword" },
                field::PRICE: { "type": "long" },
                "currency": { "type": "keyword", "index": false, "doc_values": false },
                field::RATING: { "type": "byte" },
                field::REVIEWS: { "type": "integer" },
                field::AVAILABLE: { "type": "long" },
                field::CREATED_AT: { "type": "date", "format": "epoch_millis" }
            }
        }
    })
}

/// The `_search` body for a request: the page, the total and the facets.
fn search_body(request: &SearchRequest) -> Value {
    let words = request.text.as_deref().map(words).unwrap_or_default();
    let mut must: Vec<Value> = words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let fuzzy = json!({ "match": { field::TITLE: {
                "query": word,
                // Should the analyzer split a word, every part is required.
                "operator": "and",
                "fuzziness": "AUTO",
                "fuzzy_transpositions": true,
                "prefix_length": 0,
                "max_expansions": MAX_EXPANSIONS
            } } });
            if request.as_prefix(&words, i) {
                let prefix = json!({ "prefix": { field::TITLE: { "value": word } } });
                json!({ "bool": { "should": [fuzzy, prefix], "minimum_should_match": 1 } })
            } else {
                fuzzy
            }
        })
        .collect();
    if must.is_empty() {
        // Scores 1, so the boosts alone order the hits.
        must.push(json!({ "match_all": {} }));
    }
    let bool_query = json!({ "bool": { "must": must, "filter": filters(request) } });
    let query = json!({ "function_score": {
        "query": bool_query,
        "functions": [
            { "filter": { "range": { field::AVAILABLE: { "gte": 1 } } }, "weight": 2 },
            {
                "filter": { "range": { field::RATING: { "gte": 10 } } },
                "field_value_factor": { "field": field::RATING, "factor": 0.1, "modifier": "sqrt" }
            }
        ],
        "score_mode": "multiply",
        "boost_mode": "multiply"
    } });
    let by_score = json!({ "_score": { "order": "desc" } });
    let by_id = json!({ field::ID: { "order": "asc" } });
    let desc = |name: &str| json!({ name: { "order": "desc" } });
    let sort = match request.sort {
        SearchSort::Relevance => vec![by_score, by_id],
        SearchSort::PriceAsc => vec![json!({ field::PRICE: { "order": "asc" } }), by_id],
        SearchSort::PriceDesc => vec![desc(field::PRICE), by_id],
        SearchSort::Rating => vec![desc(field::RATING), desc(field::REVIEWS), by_id],
        SearchSort::Newest => vec![desc(field::CREATED_AT), by_id],
    };
    let top_terms = |name: &str| {
        json!({ "terms": {
            "field": name,
            "size": super::FACET_SIZE,
            "order": [{ "_count": "desc" }, { "_key": "asc" }]
        } })
    };
    let ranges: Vec<Value> = PRICE_RANGES
        .iter()
        .map(|(label, from, to)| {
            let mut range = json!({ "key": label });
            if *from > 0 {
                range["from"] = json!(from);
            }
            if *to < i64::MAX {
                range["to"] = json!(to);
            }
            range
        })
        .collect();
    json!({
        "from": request.offset(),
        "size": request.limit,
        "track_total_hits": true,
        "query": query,
        "sort": sort,
        "aggs": {
            "categories": top_terms(field::CATEGORY),
            "brands": top_terms(field::BRAND),
            "prices": { "range": { "field": field::PRICE, "ranges": ranges } },
            "rating": { "avg": { "field": field::RATING } }
        }
    })
}

/// The request's filters: required, scoring nothing.
fn filters(request: &SearchRequest) -> Vec<Value> {
    let mut filters = Vec::new();
    if let Some(category) = &request.category {
        filters.push(json!({ "term": { field::CATEGORY_PATH: category.as_str() } }));
    }
    if !request.brands.is_empty() {
        filters.push(json!({ "terms": { field::BRAND: request.brands } }));
    }
    if request.price_min.is_some() || request.price_max.is_some() {
        let mut range = json!({});
        if let Some(min) = request.price_min {
            range["gte"] = json!(min);
        }
        if let Some(max) = request.price_max {
            range["lte"] = json!(max);
        }
        filters.push(json!({ "range": { field::PRICE: range } }));
    }
    if request.in_stock_only {
        filters.push(json!({ "range": { field::AVAILABLE: { "gte": 1 } } }));
    }
    if let Some(stars) = request.rating_min {
        filters.push(json!({ "range": { field::RATING: { "gte": u16::from(stars) * 10 } } }));
    }
    filters
}

/// A product as the index holds it (its `_source`).
#[derive(Debug, Serialize, Deserialize)]
struct IndexedProduct {
    product_id: ProductId,
    title: String,
    brand: String,
    category_id: CategoryId,
    category_path: Vec<CategoryId>,
    /// Minor units.
    price: i64,
    currency: Currency,
    rating_tenths: u8,
    review_count: u32,
    available: i64,
    /// Milliseconds since the Unix epoch (timestamps carry no finer part).
    created_at: i64,
}

impl IndexedProduct {
    fn new(doc: &SearchDoc) -> Self {
        let created = doc.created_at;
        Self {
            product_id: doc.product_id.clone(),
            title: doc.title.clone(),
            brand: doc.brand.clone(),
            category_id: doc.category_id.clone(),
            category_path: doc.category_path.clone(),
            price: doc.price.amount,
            currency: doc.price.currency,
            rating_tenths: doc.rating.tenths(),
            review_count: doc.review_count,
            available: doc.available,
            created_at: created.unix_timestamp() * 1000 + i64::from(created.millisecond()),
        }
    }

    fn into_search_doc(self) -> Result<SearchDoc, String> {
        Ok(SearchDoc {
            product_id: self.product_id,
            title: self.title,
            brand: self.brand,
            category_id: self.category_id,
            category_path: self.category_path,
            price: Money::new(self.price, self.currency),
            rating: Rating::from_tenths(self.rating_tenths)?,
            review_count: self.review_count,
            available: self.available,
            created_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.created_at) * 1_000_000)
                .map_err(|e| e.to_string())?,
        })
    }
}

/// A `_bulk` action line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum BulkAction<'a> {
    Index {
        #[serde(rename = "_id")]
        id: &'a str,
    },
    Delete {
        #[serde(rename = "_id")]
        id: &'a str,
    },
}

#[derive(Debug, Deserialize)]
struct BulkResponse {
    errors: bool,
    /// One per action: `{ "index": { … } }` or `{ "delete": { … } }`.
    items: Vec<HashMap<String, BulkItem>>,
}

#[derive(Debug, Deserialize)]
struct BulkItem {
    #[serde(rename = "_id")]
    id: Option<String>,
    status: u16,
    #[serde(default)]
    error: Value,
}

impl BulkResponse {
    /// Fails if an action failed; removing an absent product is fine. If
    /// any failure is the service's (throttling, a server error), it is
    /// unavailable and the whole batch can be retried.
    fn check(self) -> Result<(), SearchError> {
        if !self.errors {
            return Ok(());
        }
        let failures: Vec<(String, BulkItem)> = self
            .items
            .into_iter()
            .flatten()
            .filter(|(action, item)| item.status >= 300 && !(action == "delete" && item.status == 404))
            .collect();
        let Some((action, first)) = failures.first() else {
            return Ok(());
        };
        let message = format!(
            "{} of the batch's actions failed, first {action} {}: {} {}",
            failures.len(),
            first.id.as_deref().unwrap_or("?"),
            first.status,
            first.error
        );
        let retryable = failures
            .iter()
            .any(|(_, item)| item.status == 429 || item.status >= 500);
        Err(if retryable {
            SearchError::Unavailable(message)
        } else {
            SearchError::Failed(message)
        })
    }
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    hits: Hits,
    aggregations: Aggregations,
}

#[derive(Debug, Deserialize)]
struct Hits {
    total: Total,
    hits: Vec<Hit>,
}

#[derive(Debug, Deserialize)]
struct Total {
    value: u64,
}

#[derive(Debug, Deserialize)]
struct Hit {
    #[serde(rename = "_source")]
    source: IndexedProduct,
}

#[derive(Debug, Deserialize)]
struct Aggregations {
    categories: Buckets,
    brands: Buckets,
    prices: Buckets,
    rating: Average,
}

#[derive(Debug, Deserialize)]
struct Buckets {
    buckets: Vec<AggregationBucket>,
}

#[derive(Debug, Deserialize)]
struct AggregationBucket {
    key: String,
    doc_count: u64,
}

#[derive(Debug, Deserialize)]
struct Average {
    /// `null` without matches.
    value: Option<f64>,
}

impl SearchResponse {
    fn into_results(self) -> Result<SearchResults, SearchError> {
        let hits = self
            .hits
            .hits
            .into_iter()
            .map(|hit| hit.source.into_search_doc())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SearchError::Failed(format!("an indexed product is unreadable: {e}")))?;
        let aggregations = self.aggregations;
        let counts = |buckets: Buckets| buckets.buckets.into_iter().map(|b| (b.key, b.doc_count));
        let mut prices = [0u64; 4];
        for bucket in aggregations.prices.buckets {
            let range = PRICE_RANGES
                .iter()
                .position(|(label, _, _)| *label == bucket.key)
                .ok_or_else(|| SearchError::Failed(format!("an unknown price range {:?}", bucket.key)))?;
            prices[range] = bucket.doc_count;
        }
        Ok(SearchResults {
            hits,
            total: self.hits.total.value,
            facets: Facets {
                categories: top_buckets(counts(aggregations.categories)),
                brands: top_buckets(counts(aggregations.brands)),
                price_ranges: price_buckets(prices),
                avg_rating: aggregations.rating.value.map(|tenths| tenths / 10.0),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::catalog;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method as AxumMethod, Uri};
    use tokio::sync::mpsc;

    #[test]
    fn a_document_comes_back_as_it_went_in() {
        for doc in catalog::docs() {
            let json = serde_json::to_string(&IndexedProduct::new(&doc)).unwrap();
            let back: IndexedProduct = serde_json::from_str(&json).unwrap();
            assert_eq!(back.into_search_doc().unwrap(), doc);
        }
    }

    #[test]
    fn index_names_must_be_plain() {
        for good in ["products", "products-2", "shop.products_v1"] {
            assert!(check_index_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Products", "-products", "_all", ".hidden", "a/b", "a b", "a?b"] {
            assert!(check_index_name(bad).is_err(), "{bad}");
        }
        assert!(OpenSearchBackend::new("localhost:9200", "products", Signing::Unsigned).is_err());
        assert!(OpenSearchBackend::new("ftp://localhost", "products", Signing::Unsigned).is_err());
    }

    #[test]
    fn every_word_is_a_required_fuzzy_clause_and_filters_do_not_score() {
        let request = SearchRequest {
            text: Some("Hedphones, WIRELESS!".into()),
            category: Some(catalog::category("electronics")),
            brands: vec!["Acme".into()],
            price_min: Some(2500),
            in_stock_only: true,
            ..SearchRequest::default()
        };
        let body = search_body(&request);
        let bool_query = &body["query"]["function_score"]["query"]["bool"];
        let words: Vec<&str> = bool_query["must"]
            .as_array()
            .unwrap()
            .iter()
            .map(|clause| clause["match"]["title"]["query"].as_str().unwrap())
            .collect();
        assert_eq!(words, ["hedphones", "wireless"]);
        assert_eq!(bool_query["must"][0]["match"]["title"]["fuzziness"], "AUTO");
        assert_eq!(
            bool_query["filter"],
            json!([
                { "term": { "category_path": "electronics" } },
                { "terms": { "brand": ["Acme"] } },
                { "range": { "price": { "gte": 2500 } } },
                { "range": { "available": { "gte": 1 } } }
            ])
        );
        let blank = search_body(&SearchRequest {
            text: Some(" ?! ".into()),
            ..SearchRequest::default()
        });
        assert_eq!(
            blank["query"]["function_score"]["query"]["bool"]["must"],
            json!([{ "match_all": {} }])
        );
    }

    #[test]
    fn the_price_ranges_are_the_facets_half_open_ranges() {
        let body = search_body(&SearchRequest::default());
        assert_eq!(
            body["aggs"]["prices"]["range"]["ranges"],
            json!([
                { "key": "Under $25", "to": 2500 },
                { "key": "$25-$50", "from": 2500, "to": 5000 },
                { "key": "$50-$100", "from": 5000, "to": 10_000 },
                { "key": "Over $100", "from": 10_000 }
            ])
        );
    }

    #[test]
    fn bulk_failures_say_whether_a_retry_can_help() {
        let response = |items: Value| -> BulkResponse {
            serde_json::from_value(json!({ "errors": true, "items": items })).unwrap()
        };
        let absent = json!([{ "delete": { "_id": "P1", "status": 404, "result": "not_found" } }]);
        assert!(response(absent).check().is_ok());
        let throttled = json!([
            { "index": { "_id": "P1", "status": 201 } },
            { "index": { "_id": "P2", "status": 429, "error": { "type": "es_rejected_execution_exception" } } }
        ]);
        assert!(matches!(response(throttled).check(), Err(SearchError::Unavailable(_))));
        let refused =
            json!([{ "index": { "_id": "P1", "status": 400, "error": { "type": "mapper_parsing_exception" } } }]);
        let Err(SearchError::Failed(message)) = response(refused).check() else {
            panic!("a refused document is a failure");
        };
        assert!(
            message.contains("P1") && message.contains("mapper_parsing_exception"),
            "{message}"
        );
    }

    /// What a stub server received.
    struct Received {
        method: AxumMethod,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    }

    /// A server on a free port that records each request and answers `reply`.
    async fn stub(status: u16, reply: Value) -> (String, mpsc::UnboundedReceiver<Received>) {
        let (sent, received) = mpsc::unbounded_channel();
        let app = axum::Router::new().fallback(move |method, uri, headers, body: Bytes| {
            let sent = sent.clone();
            let reply = reply.clone();
            async move {
                let _ = sent.send(Received {
                    method,
                    uri,
                    headers,
                    body,
                });
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    reply.to_string(),
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, received)
    }

    fn signing(session_token: Option<&str>) -> Signing {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token.map(str::to_owned),
            None,
            "test",
        );
        Signing::SigV4 {
            region: "eu-west-1".into(),
            credentials: SharedCredentialsProvider::new(credentials),
        }
    }

    #[tokio::test]
    async fn signed_requests_carry_a_signature_of_what_was_sent() {
        let (url, mut received) = stub(200, json!({ "count": 7 })).await;
        let backend = OpenSearchBackend::new(&url, "products", signing(Some("TOKEN"))).unwrap();
        assert_eq!(backend.count().await.unwrap(), 7);
        let request = received.recv().await.unwrap();
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        let authorization = header("authorization").to_owned();
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && authorization.contains("/eu-west-1/es/aws4_request"),
            "{authorization}"
        );
        assert_eq!(header("x-amz-security-token"), "TOKEN");
        assert_eq!(request.uri.path(), "/products/_count");

        // Re-signing what the server received, at the time it names, gives
        // the same signature: the request was not changed after signing.
        let (post_url, mut posts) = stub(200, json!({ "errors": false, "items": [] })).await;
        let backend = OpenSearchBackend::new(&post_url, "products", signing(None)).unwrap();
        backend.remove(vec![catalog::product_id("P1")]).await.unwrap();
        let request = posts.recv().await.unwrap();
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(request.method, AxumMethod::POST);
        assert_eq!(header("content-type"), "application/x-ndjson");
        assert_eq!(request.body, "{\"delete\":{\"_id\":\"P1\"}}\n");
        let sha = header("x-amz-content-sha256");
        assert_eq!(
            sha,
            format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&request.body))
        );
        let time = time::PrimitiveDateTime::parse(
            header("x-amz-date"),
            time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
        )
        .unwrap()
        .assume_utc();
        let identity = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("es")
            .time(SystemTime::from(time))
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let url = format!("{post_url}{}", request.uri);
        let signable = SignableRequest::new(
            "POST",
            &url,
            [("content-type", "application/x-ndjson")].into_iter(),
            SignableBody::Bytes(&request.body),
        )
        .unwrap();
        let (_, signature) = sign(signable, &params).unwrap().into_parts();
        assert!(
            header("authorization").ends_with(&format!("Signature={signature}")),
            "{} vs {signature}",
            header("authorization")
        );
    }

    #[tokio::test]
    async fn answers_map_to_unavailable_or_failed() {
        let (url, _received) = stub(503, json!({ "message": "busy" })).await;
        let backend = OpenSearchBackend::new(&url, "products", Signing::Unsigned).unwrap();
        assert!(matches!(backend.count().await, Err(SearchError::Unavailable(m)) if m.contains("busy")));

        let missing = json!({ "error": { "type": "index_not_found_exception", "reason": "no such index [products]" }, "status": 404 });
        let (url, _received) = stub(404, missing).await;
        let backend = OpenSearchBackend::new(&url, "products", Signing::Unsigned).unwrap();
        let Err(SearchError::Failed(message)) = backend.search(&SearchRequest::default()).await else {
            panic!("a missing index is a failure");
        };
        assert!(message.contains("index_not_found_exception"), "{message}");

        let (url, _received) = stub(200, json!({ "unexpected": true })).await;
        let backend = OpenSearchBackend::new(&url, "products", Signing::Unsigned).unwrap();
        assert!(matches!(
            backend.search(&SearchRequest::default()).await,
            Err(SearchError::Failed(_))
        ));

        // Nothing listening: unavailable.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let backend =
            OpenSearchBackend::new(&format!("http://127.0.0.1:{port}"), "products", Signing::Unsigned).unwrap();
        assert!(matches!(backend.count().await, Err(SearchError::Unavailable(_))));
    }
}
