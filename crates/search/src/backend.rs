//! The backend a deployed function searches with, chosen at start-up from
//! its environment:
//!
//! - `SEARCH_BACKEND=tantivy` (the default): an index on local disk in
//!   `SEARCH_INDEX_DIR` (default `/tmp/search-index`).
//! - `SEARCH_BACKEND=opensearch`: the index `OPENSEARCH_INDEX` (default
//!   `products`) at `OPENSEARCH_ENDPOINT`. An `https://` endpoint (Amazon
//!   OpenSearch Service) is signed with SigV4 using the function's AWS
//!   credentials; an `http://` one (a local OpenSearch, osmem-server) is
//!   called unsigned.

use super::opensearch::{OpenSearchBackend, Signing};
use super::tantivy::TantivyBackend;
use super::{SearchBackend, SearchError, SearchRequest, SearchResults};
use crate::SearchDoc;
use shop_domain::ids::ProductId;
use shop_domain::settings::ConfigError;
use std::path::PathBuf;

pub const DEFAULT_INDEX_DIR: &str = "/tmp/search-index";
pub const DEFAULT_OPENSEARCH_INDEX: &str = "products";

/// Which backend, and where its index is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSettings {
    Tantivy { index_dir: PathBuf },
    OpenSearch { endpoint: String, index: String },
}

impl BackendSettings {
    /// From the process environment, as in Lambda.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any source of variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &'static str| lookup(name).filter(|v| !v.is_empty());
        let in_lambda = optional("AWS_LAMBDA_FUNCTION_NAME").is_some();
        match optional("SEARCH_BACKEND").as_deref() {
            // Each Lambda instance has its own /tmp: the search function would
            // read an index no updater ever wrote, and answer nothing.
            None | Some("tantivy") if in_lambda => Err(ConfigError::Invalid {
                name: "SEARCH_BACKEND",
                value: optional("SEARCH_BACKEND").unwrap_or_default(),
                expected: "opensearch in AWS Lambda (a tantivy index lives in one instance's /tmp, \
                           so every other instance would search an empty one)",
            }),
            None | Some("tantivy") => Ok(Self::Tantivy {
                index_dir: optional("SEARCH_INDEX_DIR")
                    .unwrap_or_else(|| DEFAULT_INDEX_DIR.to_owned())
                    .into(),
            }),
            Some("opensearch") => Ok(Self::OpenSearch {
                endpoint: optional("OPENSEARCH_ENDPOINT").ok_or(ConfigError::Missing("OPENSEARCH_ENDPOINT"))?,
                index: optional("OPENSEARCH_INDEX").unwrap_or_else(|| DEFAULT_OPENSEARCH_INDEX.to_owned()),
            }),
            Some(other) => Err(ConfigError::Invalid {
                name: "SEARCH_BACKEND",
                value: other.to_owned(),
                expected: "tantivy or opensearch",
            }),
        }
    }
}

/// One of the backends, chosen at run time.
#[derive(Debug, Clone)]
pub enum AnyBackend {
    Tantivy(TantivyBackend),
    OpenSearch(OpenSearchBackend),
}

impl AnyBackend {
    /// Opens the backend the environment `lookup` reads names.
    pub async fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self::open(&BackendSettings::from_lookup(lookup)?).await?)
    }

    /// Opens the backend the settings name; for a signed OpenSearch
    /// endpoint, loads the AWS configuration (region, credentials).
    pub async fn open(settings: &BackendSettings) -> Result<Self, SearchError> {
        match settings {
            BackendSettings::Tantivy { index_dir } => Ok(Self::Tantivy(TantivyBackend::open(index_dir)?)),
            BackendSettings::OpenSearch { endpoint, index } => {
                let signing = if endpoint.starts_with("https://") {
                    Signing::from_sdk(&shop_store::aws::sdk_config().await)?
                } else {
                    Signing::Unsigned
                };
                Ok(Self::OpenSearch(OpenSearchBackend::new(endpoint, index, signing)?))
            }
        }
    }
}

impl AnyBackend {
    /// Creates the OpenSearch index with its mapping unless it exists (the
    /// index updater does this at start-up); a tantivy index is created when
    /// opened.
    pub async fn ensure_index(&self) -> Result<(), SearchError> {
        match self {
            Self::Tantivy(_) => Ok(()),
            Self::OpenSearch(backend) => backend.ensure_index().await,
        }
    }
}

impl SearchBackend for AnyBackend {
    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        match self {
            Self::Tantivy(backend) => backend.search(request).await,
            Self::OpenSearch(backend) => backend.search(request).await,
        }
    }

    async fn upsert(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        match self {
            Self::Tantivy(backend) => backend.upsert(docs).await,
            Self::OpenSearch(backend) => backend.upsert(docs).await,
        }
    }

    async fn remove(&self, ids: Vec<ProductId>) -> Result<(), SearchError> {
        match self {
            Self::Tantivy(backend) => backend.remove(ids).await,
            Self::OpenSearch(backend) => backend.remove(ids).await,
        }
    }

    async fn count(&self) -> Result<u64, SearchError> {
        match self {
            Self::Tantivy(backend) => backend.count().await,
            Self::OpenSearch(backend) => backend.count().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<BackendSettings, ConfigError> {
        BackendSettings::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn tantivy_is_the_default() {
        assert_eq!(
            settings(&[]).unwrap(),
            BackendSettings::Tantivy {
                index_dir: DEFAULT_INDEX_DIR.into()
            }
        );
        assert_eq!(
            settings(&[("SEARCH_BACKEND", "tantivy"), ("SEARCH_INDEX_DIR", "/mnt/index")]).unwrap(),
            BackendSettings::Tantivy {
                index_dir: "/mnt/index".into()
            }
        );
    }

    #[test]
    fn tantivy_is_refused_in_lambda_where_every_instance_has_its_own_tmp() {
        let lambda = ("AWS_LAMBDA_FUNCTION_NAME", "search");
        for vars in [vec![lambda], vec![lambda, ("SEARCH_BACKEND", "tantivy")]] {
            let error = settings(&vars).unwrap_err().to_string();
            assert!(error.contains("opensearch in AWS Lambda"), "{error}");
        }
        let endpoint = ("OPENSEARCH_ENDPOINT", "https://search-shop.eu-west-1.es.amazonaws.com");
        assert!(settings(&[lambda, ("SEARCH_BACKEND", "opensearch"), endpoint]).is_ok());
    }

    #[test]
    fn opensearch_needs_an_endpoint() {
        let endpoint = "https://search-shop.eu-west-1.es.amazonaws.com";
        assert_eq!(
            settings(&[("SEARCH_BACKEND", "opensearch"), ("OPENSEARCH_ENDPOINT", endpoint)]).unwrap(),
            BackendSettings::OpenSearch {
                endpoint: endpoint.into(),
                index: DEFAULT_OPENSEARCH_INDEX.into()
            }
        );
        assert!(matches!(
            settings(&[("SEARCH_BACKEND", "opensearch")]),
            Err(ConfigError::Missing("OPENSEARCH_ENDPOINT"))
        ));
        assert!(matches!(
            settings(&[("SEARCH_BACKEND", "elastic")]),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[tokio::test]
    async fn a_local_endpoint_is_called_unsigned() {
        let settings = BackendSettings::OpenSearch {
            endpoint: "http://127.0.0.1:9200".into(),
            index: "products".into(),
        };
        let AnyBackend::OpenSearch(backend) = AnyBackend::open(&settings).await.unwrap() else {
            panic!("an OpenSearch backend");
        };
        assert!(format!("{backend:?}").contains("signed: false"));
    }
}
