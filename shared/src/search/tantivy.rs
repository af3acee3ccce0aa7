//! The search index on local disk (or in memory for tests), with tantivy.
//!
//! One writer (behind a mutex: tantivy allows one per index) and one reader,
//! reloaded after every commit so that a search right after a change sees it.
//! tantivy is synchronous, so every call runs on tokio's blocking pool.
//!
//! How the semantics of [`super`] map onto tantivy:
//!
//! - **Text**: each query word is expanded against the title's term
//!   dictionary of every segment with the Levenshtein automaton tantivy's
//!   `FuzzyTermQuery` uses (a transposition counting as one edit); the word
//!   becomes "any of these terms", and every word is required. Expanding once
//!   and running plain term queries was measured 2.5× faster than fuzzy
//!   queries on 1M products.
//! - **Filters**: required clauses that score 0, so that only the text feeds
//!   BM25.
//! - **Order**: one sort key per hit ([`Rank`]) read from fast fields: the
//!   score (BM25 × [`boost`], or the boost alone without text) or the sort's
//!   fields, then the product id ascending — first its leading 8 bytes
//!   (`id_key`, comparable across segments), then the whole id.
//! - **Facets**: a collector that counts every match from fast fields in the
//!   same pass as the top hits.

use super::{
    Facets, SearchBackend, SearchDoc, SearchError, SearchRequest, SearchResults, SearchSort, boost, fuzzy_distance,
    price_buckets, price_range, top_buckets, words,
};
use crate::catalog::Rating;
use crate::ids::{CategoryId, ProductId};
use crate::money::{Currency, Money};
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use tantivy::collector::sort_key::NaturalComparator;
use tantivy::collector::{Collector, SegmentCollector, SegmentSortKeyComputer, SortKeyComputer, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TEXT, Value};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, SegmentReader, TantivyDocument,
    TantivyError, Term,
};
use time::OffsetDateTime;

/// The writer's indexing memory, shared by its threads.
const WRITER_HEAP: usize = 50_000_000;

/// Field names; the fast-field readers look columns up by name.
mod name {
    pub const ID: &str = "product_id";
    pub const TITLE: &str = "title";
    pub const BRAND: &str = "brand";
    pub const CATEGORY: &str = "category";
    pub const CATEGORY_PATH: &str = "category_path";
    pub const PRICE: &str = "price";
    pub const CURRENCY: &str = "currency";
    pub const RATING: &str = "rating_tenths";
    pub const REVIEWS: &str = "review_count";
    pub const AVAILABLE: &str = "available";
    pub const CREATED_AT: &str = "created_at_ms";
    pub const ID_KEY: &str = "id_key";
}

/// A product search index. Clones share the same index.
#[derive(Clone)]
pub struct TantivyBackend {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    fields: Fields,
}

impl fmt::Debug for TantivyBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TantivyBackend").finish_non_exhaustive()
    }
}

impl TantivyBackend {
    /// Opens the index in `dir`, creating the directory and an empty index
    /// if there is none yet.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SearchError::Failed(format!("cannot create the index directory {}: {e}", dir.display())))?;
        let directory = MmapDirectory::open(dir).map_err(|e| SearchError::Failed(e.to_string()))?;
        let (schema, fields) = Fields::schema();
        let index = Index::open_or_create(directory, schema).map_err(search_error)?;
        Self::with_index(&index, fields)
    }

    /// An empty index in memory, for tests.
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = Fields::schema();
        Self::with_index(&Index::create_in_ram(schema), fields)
    }

    fn with_index(index: &Index, fields: Fields) -> Result<Self, SearchError> {
        let writer: IndexWriter = index.writer(WRITER_HEAP).map_err(search_error)?;
        // Reloaded by hand after each commit rather than by a file watcher, so
        // that a change is visible as soon as `upsert` or `remove` returns.
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(search_error)?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                reader,
                fields,
            }),
        })
    }

    /// Removes every product (before a rebuild, so that products deleted
    /// meanwhile do not linger).
    pub async fn clear(&self) -> Result<(), SearchError> {
        self.run(|inner| {
            inner.change(|writer, _| {
                writer.delete_all_documents()?;
                Ok(())
            })
        })
        .await
    }

    /// Runs blocking index work off the async runtime's threads.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, SearchError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| SearchError::Failed(format!("the search task failed: {e}")))?
    }
}

impl SearchBackend for TantivyBackend {
    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let request = request.clone();
        self.run(move |inner| inner.search(&request)).await
    }

    async fn upsert(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        if docs.is_empty() {
            return Ok(());
        }
        self.run(move |inner| {
            inner.change(|writer, fields| {
                for doc in &docs {
                    // Deletes apply to documents added before them, so the
                    // new version survives and a later duplicate in the same
                    // batch wins.
                    writer.delete_term(fields.id_term(&doc.product_id));
                    writer.add_document(fields.document(doc))?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn remove(&self, ids: Vec<ProductId>) -> Result<(), SearchError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.run(move |inner| {
            inner.change(|writer, fields| {
                for id in &ids {
                    writer.delete_term(fields.id_term(id));
                }
                Ok(())
            })
        })
        .await
    }

    async fn count(&self) -> Result<u64, SearchError> {
        self.run(|inner| Ok(inner.reader.searcher().num_docs())).await
    }
}

impl Inner {
    /// Applies a change and commits it (all or nothing), then reloads the
    /// reader.
    fn change(&self, apply: impl FnOnce(&IndexWriter, &Fields) -> tantivy::Result<()>) -> Result<(), SearchError> {
        let mut writer = self.writer();
        let applied = apply(&writer, &self.fields).and_then(|()| writer.commit().map(drop));
        if let Err(e) = applied {
            // Drop the queued half of the change so the next commit does not
            // publish it. A failed rollback leaves nothing better to do.
            let _ = writer.rollback();
            return Err(search_error(e));
        }
        self.reader.reload().map_err(search_error)
    }

    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|poisoned| {
            // A panic mid-change may have left part of a batch queued.
            let mut writer = poisoned.into_inner();
            let _ = writer.rollback();
            self.writer.clear_poison();
            writer
        })
    }

    fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let words = request.text.as_deref().map(words).unwrap_or_default();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &words {
            let terms = self.expand(&searcher, word).map_err(search_error)?;
            if terms.is_empty() {
                return Ok(no_results());
            }
            let any_term: Vec<(Occur, Box<dyn Query>)> = terms
                .into_iter()
                .map(|term| {
                    let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                    (Occur::Should, query)
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any_term))));
        }
        for filter in self.filters(request) {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
        }
        let query: Box<dyn Query> = if clauses.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };

        let start = request.offset();
        let top = TopDocs::for_doc_range(start..start.saturating_add(request.limit as usize)).order_by(HitOrder {
            sort: request.sort,
            by_text: !words.is_empty(),
        });
        let (top, counts) = searcher.search(&*query, &(top, FacetCounter)).map_err(search_error)?;
        let hits = top
            .into_iter()
            .map(|(_, address)| {
                let doc: TantivyDocument = searcher.doc(address).map_err(search_error)?;
                self.fields
                    .search_doc(&doc)
                    .map_err(|e| SearchError::Failed(format!("a stored product is unreadable: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchResults {
            hits,
            total: counts.total,
            facets: counts.into_facets(),
        })
    }

    /// The title terms, in any segment, within the word's edit distance.
    fn expand(&self, searcher: &Searcher, word: &str) -> tantivy::Result<Vec<Term>> {
        let title = self.fields.title;
        // Borrowing the query's automaton keeps the exact matching rules of
        // `FuzzyTermQuery` (and its cached automaton builders).
        let automaton =
            FuzzyTermQuery::new(Term::from_field_text(title, word), fuzzy_distance(word), true).automaton()?;
        let mut found = BTreeSet::new();
        for segment in searcher.segment_readers() {
            let index = segment.inverted_index(title)?;
            let mut terms = index.terms().search(&automaton).into_stream()?;
            while terms.advance() {
                // Text terms are UTF-8: they come from the tokenizer.
                if let Ok(text) = std::str::from_utf8(terms.key()) {
                    found.insert(text.to_owned());
                }
            }
        }
        Ok(found.iter().map(|text| Term::from_field_text(title, text)).collect())
    }

    fn filters(&self, request: &SearchRequest) -> Vec<Box<dyn Query>> {
        let fields = &self.fields;
        let mut filters: Vec<Box<dyn Query>> = Vec::new();
        if let Some(category) = &request.category {
            let term = Term::from_field_text(fields.category_path, category.as_str());
            filters.push(Box::new(TermQuery::new(term, IndexRecordOption::Basic)));
        }
        if !request.brands.is_empty() {
            let terms = request
                .brands
                .iter()
                .map(|brand| Term::from_field_text(fields.brand, brand));
            filters.push(Box::new(TermSetQuery::new(terms)));
        }
        if request.price_min.is_some() || request.price_max.is_some() {
            let bound = |amount: Option<i64>| {
                amount.map_or(Bound::Unbounded, |a| {
                    Bound::Included(Term::from_field_i64(fields.price, a))
                })
            };
            filters.push(Box::new(RangeQuery::new(
                bound(request.price_min),
                bound(request.price_max),
            )));
        }
        if request.in_stock_only {
            let one = Term::from_field_i64(fields.available, 1);
            filters.push(Box::new(RangeQuery::new(Bound::Included(one), Bound::Unbounded)));
        }
        filters
    }
}

/// What a search that cannot match anything answers.
fn no_results() -> SearchResults {
    SearchResults {
        hits: Vec::new(),
        total: 0,
        facets: FacetCounts::default().into_facets(),
    }
}

/// A lock held by another process means the index is busy, not broken.
fn search_error(e: TantivyError) -> SearchError {
    match e {
        TantivyError::LockFailure(..) => SearchError::Unavailable(e.to_string()),
        _ => SearchError::Failed(e.to_string()),
    }
}

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    brand: Field,
    category: Field,
    category_path: Field,
    price: Field,
    currency: Field,
    rating: Field,
    reviews: Field,
    available: Field,
    created_at: Field,
    id_key: Field,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let fields = Fields {
            id: builder.add_text_field(name::ID, STRING | STORED | FAST),
            title: builder.add_text_field(name::TITLE, TEXT | STORED),
            brand: builder.add_text_field(name::BRAND, STRING | FAST | STORED),
            category: builder.add_text_field(name::CATEGORY, STRING | FAST | STORED),
            category_path: builder.add_text_field(name::CATEGORY_PATH, STRING | STORED),
            price: builder.add_i64_field(name::PRICE, INDEXED | FAST | STORED),
            currency: builder.add_text_field(name::CURRENCY, STORED),
            rating: builder.add_u64_field(name::RATING, FAST | STORED),
            reviews: builder.add_u64_field(name::REVIEWS, FAST | STORED),
            available: builder.add_i64_field(name::AVAILABLE, INDEXED | FAST | STORED),
            created_at: builder.add_i64_field(name::CREATED_AT, FAST | STORED),
            id_key: builder.add_u64_field(name::ID_KEY, FAST),
        };
        (builder.build(), fields)
    }

    fn id_term(&self, id: &ProductId) -> Term {
        Term::from_field_text(self.id, id.as_str())
    }

    fn document(&self, doc: &SearchDoc) -> TantivyDocument {
        let mut out = TantivyDocument::new();
        out.add_text(self.id, doc.product_id.as_str());
        out.add_text(self.title, &doc.title);
        out.add_text(self.brand, &doc.brand);
        out.add_text(self.category, doc.category_id.as_str());
        for category in &doc.category_path {
            out.add_text(self.category_path, category.as_str());
        }
        out.add_i64(self.price, doc.price.amount);
        out.add_text(self.currency, doc.price.currency.as_str());
        out.add_u64(self.rating, u64::from(doc.rating.tenths()));
        out.add_u64(self.reviews, u64::from(doc.review_count));
        out.add_i64(self.available, doc.available);
        out.add_i64(self.created_at, unix_millis(doc.created_at));
        out.add_u64(self.id_key, id_key(doc.product_id.as_str()));
        out
    }

    /// Rebuilds a product from its stored fields.
    fn search_doc(&self, doc: &TantivyDocument) -> Result<SearchDoc, String> {
        let text = |field: Field, what: &str| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("no {what}"))
        };
        let int = |field: Field, what: &str| {
            doc.get_first(field)
                .and_then(|v| v.as_i64())
                .ok_or_else(|| format!("no {what}"))
        };
        let uint = |field: Field, what: &str| {
            doc.get_first(field)
                .and_then(|v| v.as_u64())
                .ok_or_else(|| format!("no {what}"))
        };
        let category_path = doc
            .get_all(self.category_path)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| "a category path entry is not text".to_owned())
                    .and_then(CategoryId::parse)
            })
            .collect::<Result<Vec<_>, String>>()?;
        let rating = u8::try_from(uint(self.rating, name::RATING)?).map_err(|e| e.to_string())?;
        let created_ms = int(self.created_at, name::CREATED_AT)?;
        Ok(SearchDoc {
            product_id: ProductId::parse(text(self.id, name::ID)?)?,
            title: text(self.title, name::TITLE)?.to_owned(),
            brand: text(self.brand, name::BRAND)?.to_owned(),
            category_id: CategoryId::parse(text(self.category, name::CATEGORY)?)?,
            category_path,
            price: Money::new(
                int(self.price, name::PRICE)?,
                Currency::parse(text(self.currency, name::CURRENCY)?)?,
            ),
            rating: Rating::from_tenths(rating)?,
            review_count: u32::try_from(uint(self.reviews, name::REVIEWS)?).map_err(|e| e.to_string())?,
            available: int(self.available, name::AVAILABLE)?,
            created_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(created_ms) * 1_000_000)
                .map_err(|e| e.to_string())?,
        })
    }
}

/// Milliseconds since the Unix epoch (timestamps carry milliseconds at most).
fn unix_millis(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() * 1000 + i64::from(t.millisecond())
}

/// The id's first 8 bytes, big-endian, zero-padded: ids compare like their
/// keys wherever the keys differ, since ids never contain a zero byte.
fn id_key(id: &str) -> u64 {
    let mut bytes = [0u8; 8];
    for (to, from) in bytes.iter_mut().zip(id.as_bytes()) {
        *to = *from;
    }
    u64::from_be_bytes(bytes)
}

/// A product's rating from its fast field (a stored rating is at most 50).
fn rating(tenths: u64) -> Rating {
    Rating::from_tenths(u8::try_from(tenths.min(50)).unwrap_or(50)).unwrap_or_default()
}

/// The fast fields a segment is ranked and counted by.
struct Columns {
    ids: Option<StrColumn>,
    brands: Option<StrColumn>,
    categories: Option<StrColumn>,
    price: Column<i64>,
    rating: Column<u64>,
    reviews: Column<u64>,
    available: Column<i64>,
    created_at: Column<i64>,
    id_key: Column<u64>,
}

impl Columns {
    fn open(segment: &SegmentReader) -> tantivy::Result<Self> {
        let fast = segment.fast_fields();
        Ok(Self {
            ids: fast.str(name::ID)?,
            brands: fast.str(name::BRAND)?,
            categories: fast.str(name::CATEGORY)?,
            price: fast.i64(name::PRICE)?,
            rating: fast.u64(name::RATING)?,
            reviews: fast.u64(name::REVIEWS)?,
            available: fast.i64(name::AVAILABLE)?,
            created_at: fast.i64(name::CREATED_AT)?,
            id_key: fast.u64(name::ID_KEY)?,
        })
    }
}

/// How a hit ranks: the greater, the earlier (fields compare in order).
/// `Id` is the id's term ordinal within a segment (ordinals follow the
/// dictionary's sort order) and the id itself once segments are merged.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
struct Rank<Id> {
    /// The relevance score; 0 for the other sorts.
    score: f32,
    /// The sort's fields, negated when ascending; 0 for relevance.
    keys: [i64; 2],
    id_key: Reverse<u64>,
    id: Reverse<Id>,
}

/// Ranks hits for [`TopDocs`].
struct HitOrder {
    sort: SearchSort,
    /// Whether BM25 is part of the score (there is text).
    by_text: bool,
}

impl SortKeyComputer for HitOrder {
    type SortKey = Rank<String>;
    type Child = SegmentHitOrder;
    type Comparator = NaturalComparator;

    fn requires_scoring(&self) -> bool {
        self.by_text && self.sort == SearchSort::Relevance
    }

    fn segment_sort_key_computer(&self, segment: &SegmentReader) -> tantivy::Result<SegmentHitOrder> {
        Ok(SegmentHitOrder {
            sort: self.sort,
            by_text: self.by_text,
            columns: Columns::open(segment)?,
        })
    }
}

struct SegmentHitOrder {
    sort: SearchSort,
    by_text: bool,
    columns: Columns,
}

impl SegmentSortKeyComputer for SegmentHitOrder {
    type SortKey = Rank<String>;
    type SegmentSortKey = Rank<u64>;
    type SegmentComparator = NaturalComparator;

    fn segment_sort_key(&mut self, doc: DocId, score: Score) -> Rank<u64> {
        let c = &self.columns;
        let (score, keys) = match self.sort {
            SearchSort::Relevance => {
                let in_stock = c.available.first(doc).unwrap_or(0) > 0;
                let boost = boost(in_stock, rating(c.rating.first(doc).unwrap_or(0)));
                (if self.by_text { score * boost } else { boost }, [0, 0])
            }
            SearchSort::PriceAsc => (0.0, [c.price.first(doc).unwrap_or(0).saturating_neg(), 0]),
            SearchSort::PriceDesc => (0.0, [c.price.first(doc).unwrap_or(0), 0]),
            SearchSort::Rating => {
                let tenths = c.rating.first(doc).unwrap_or(0);
                let reviews = c.reviews.first(doc).unwrap_or(0);
                let key = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                (0.0, [key(tenths), key(reviews)])
            }
            SearchSort::Newest => (0.0, [c.created_at.first(doc).unwrap_or(0), 0]),
        };
        Rank {
            score,
            keys,
            id_key: Reverse(c.id_key.first(doc).unwrap_or(0)),
            id: Reverse(c.ids.as_ref().and_then(|ids| ids.ords().first(doc)).unwrap_or(0)),
        }
    }

    /// Resolves the id's ordinal, for the few hits a segment keeps. Should
    /// the dictionary be unreadable, only the last tie-break suffers: reading
    /// the hit's stored fields reports the broken index.
    fn convert_segment_sort_key(&self, rank: Rank<u64>) -> Rank<String> {
        let mut id = String::new();
        if let Some(ids) = &self.columns.ids {
            let _ = ids.ord_to_str(rank.id.0, &mut id);
        }
        Rank {
            score: rank.score,
            keys: rank.keys,
            id_key: rank.id_key,
            id: Reverse(id),
        }
    }
}

/// Counts the facets over every match, from fast fields.
struct FacetCounter;

/// A segment's counts; categories and brands by term ordinal until merged.
struct SegmentFacets {
    columns: Columns,
    categories: Vec<u64>,
    brands: Vec<u64>,
    prices: [u64; 4],
    rating_tenths: u64,
    total: u64,
}

#[derive(Debug, Default)]
struct FacetCounts {
    categories: HashMap<String, u64>,
    brands: HashMap<String, u64>,
    prices: [u64; 4],
    rating_tenths: u64,
    total: u64,
}

impl FacetCounts {
    fn into_facets(self) -> Facets {
        Facets {
            categories: top_buckets(self.categories),
            brands: top_buckets(self.brands),
            price_ranges: price_buckets(self.prices),
            avg_rating: (self.total > 0).then(|| self.rating_tenths as f64 / self.total as f64 / 10.0),
        }
    }
}

impl Collector for FacetCounter {
    type Fruit = FacetCounts;
    type Child = SegmentFacets;

    fn for_segment(&self, _segment_ord: u32, segment: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let columns = Columns::open(segment)?;
        let terms = |column: &Option<StrColumn>| vec![0; column.as_ref().map_or(0, |c| c.num_terms())];
        Ok(SegmentFacets {
            categories: terms(&columns.categories),
            brands: terms(&columns.brands),
            columns,
            prices: [0; 4],
            rating_tenths: 0,
            total: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<SegmentFacets>) -> tantivy::Result<FacetCounts> {
        let mut counts = FacetCounts::default();
        for segment in segments {
            add_terms(
                &mut counts.categories,
                segment.columns.categories.as_ref(),
                &segment.categories,
            )?;
            add_terms(&mut counts.brands, segment.columns.brands.as_ref(), &segment.brands)?;
            for (total, count) in counts.prices.iter_mut().zip(segment.prices) {
                *total += count;
            }
            counts.rating_tenths += segment.rating_tenths;
            counts.total += segment.total;
        }
        Ok(counts)
    }
}

/// Adds counts by term ordinal to counts by term.
fn add_terms(to: &mut HashMap<String, u64>, column: Option<&StrColumn>, by_ord: &[u64]) -> tantivy::Result<()> {
    let Some(column) = column else {
        return Ok(());
    };
    for (ord, &count) in by_ord.iter().enumerate().filter(|(_, count)| **count > 0) {
        let mut term = String::new();
        column.ord_to_str(ord as u64, &mut term)?;
        *to.entry(term).or_default() += count;
    }
    Ok(())
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Self;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let c = &self.columns;
        let count = |column: &Option<StrColumn>, counts: &mut [u64]| {
            let ord = column.as_ref().and_then(|column| column.ords().first(doc));
            if let Some(n) = ord.and_then(|ord| counts.get_mut(ord as usize)) {
                *n += 1;
            }
        };
        count(&c.categories, &mut self.categories);
        count(&c.brands, &mut self.brands);
        if let Some(price) = c.price.first(doc) {
            self.prices[price_range(price)] += 1;
        }
        self.rating_tenths += c.rating.first(doc).unwrap_or(0);
        self.total += 1;
    }

    fn harvest(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::oracle::{self, catalog};
    use crate::search::{Bucket, PRICE_RANGES};
    use std::collections::HashSet;

    // ---- The conformance catalog every backend is tested on ----

    use catalog::{BRANDS, SIZE as FIXTURE, category, doc as fixture_doc, docs as fixture, product_id};

    /// The fixture, indexed in three commits (so, several segments).
    async fn indexed(docs: &[SearchDoc]) -> TantivyBackend {
        let backend = TantivyBackend::in_memory().unwrap();
        for batch in docs.chunks(100) {
            backend.upsert(batch.to_vec()).await.unwrap();
        }
        backend
    }

    fn text(text: &str) -> SearchRequest {
        SearchRequest {
            text: Some(text.to_owned()),
            ..everything()
        }
    }

    /// A request for every match on one page.
    fn everything() -> SearchRequest {
        SearchRequest {
            limit: 1000,
            ..SearchRequest::default()
        }
    }

    fn ids(hits: &[SearchDoc]) -> Vec<&str> {
        hits.iter().map(|d| d.product_id.as_str()).collect()
    }

    /// Compares the backend with the reference search (`oracle::verify`) on
    /// one request and returns the backend's answer.
    async fn check(backend: &TantivyBackend, docs: &[SearchDoc], request: &SearchRequest) -> SearchResults {
        let results = backend.search(request).await.unwrap();
        if let Err(difference) = oracle::verify(docs, request, &results) {
            panic!("{difference}");
        }
        results
    }

    #[test]
    fn id_keys_keep_the_order_of_ids() {
        assert!(id_key("P1") < id_key("P10"));
        assert!(id_key("P10") < id_key("P2"));
        assert_eq!(id_key("LONGSKU-00111"), id_key("LONGSKU-00037"));
        assert_eq!(id_key("ABCDEFGH"), u64::from_be_bytes(*b"ABCDEFGH"));
    }

    // ---- The backend against the oracle ----

    #[tokio::test]
    async fn every_stored_field_comes_back_in_the_hits() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        assert_eq!(backend.count().await.unwrap(), FIXTURE as u64);
        let results = check(&backend, &docs, &everything()).await;
        let by_id: HashMap<&ProductId, &SearchDoc> = docs.iter().map(|d| (&d.product_id, d)).collect();
        for hit in &results.hits {
            assert_eq!(&hit, by_id.get(&hit.product_id).unwrap());
        }
    }

    #[tokio::test]
    async fn filters_alone_and_combined_match_the_oracle() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        let brands = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let requests = [
            SearchRequest {
                category: Some(category("electronics")),
                ..everything()
            },
            SearchRequest {
                category: Some(category("home-lamps")),
                ..everything()
            },
            SearchRequest {
                category: Some(category("garden")),
                ..everything()
            },
            SearchRequest {
                brands: brands(&["Acme"]),
                ..everything()
            },
            SearchRequest {
                brands: brands(&["Acme", "Umbrella", "Nobody"]),
                ..everything()
            },
            SearchRequest {
                brands: brands(&["acme"]),
                ..everything()
            },
            SearchRequest {
                price_min: Some(2500),
                ..everything()
            },
            SearchRequest {
                price_max: Some(5000),
                ..everything()
            },
            SearchRequest {
                price_min: Some(2500),
                price_max: Some(10_000),
                ..everything()
            },
            SearchRequest {
                price_min: Some(2500),
                price_max: Some(2500),
                ..everything()
            },
            SearchRequest {
                in_stock_only: true,
                ..everything()
            },
            SearchRequest {
                category: Some(category("home")),
                brands: brands(&["Globex", "Hooli", "Initech"]),
                price_min: Some(1),
                price_max: Some(10_000),
                in_stock_only: true,
                ..everything()
            },
            SearchRequest {
                text: Some("lamp".into()),
                category: Some(category("home")),
                price_max: Some(5000),
                in_stock_only: true,
                ..everything()
            },
        ];
        for request in requests {
            for (_, sort) in SearchSort::ALL {
                check(
                    &backend,
                    &docs,
                    &SearchRequest {
                        sort,
                        ..request.clone()
                    },
                )
                .await;
            }
        }
    }

    #[tokio::test]
    async fn misspelt_words_match_within_their_edit_distance() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        let titled = |results: &SearchResults, word: &str| {
            !results.hits.is_empty() && results.hits.iter().all(|d| words(&d.title).iter().any(|w| w == word))
        };
        for (query, word) in [
            ("hedphones", "headphones"),
            ("lmap", "lamp"),
            ("ceramik", "ceramic"),
            ("tv", "tv"),
        ] {
            let results = check(&backend, &docs, &text(query)).await;
            assert!(titled(&results, word), "{query} finds {word}");
        }
        // Two characters must match exactly; three may be one edit away.
        assert_eq!(check(&backend, &docs, &text("tc")).await.total, 0);
        assert!(check(&backend, &docs, &text("rag")).await.total > 0);
        for query in [
            "HIKING boots!",
            "speeker",
            "eco",
            "4k",
            "wireles",
            "noise cancelling",
            "",
        ] {
            for (_, sort) in SearchSort::ALL {
                check(&backend, &docs, &SearchRequest { sort, ..text(query) }).await;
            }
        }
    }

    #[tokio::test]
    async fn every_word_is_required() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        let both = check(&backend, &docs, &text("wireless speaker")).await;
        let wireless = check(&backend, &docs, &text("wireless")).await;
        assert!(both.total > 0 && both.total < wireless.total);
        for hit in &both.hits {
            let title = words(&hit.title);
            assert!(title.contains(&"wireless".to_owned()) && title.contains(&"speaker".to_owned()));
        }
        assert_eq!(check(&backend, &docs, &text("wireless lamp")).await.total, 0);
    }

    #[tokio::test]
    async fn a_word_matching_nothing_finds_nothing_and_empties_the_facets() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        for query in ["zzzzqqq", "lamp zzzzqqq"] {
            let results = check(&backend, &docs, &text(query)).await;
            assert_eq!(results.total, 0);
            assert!(results.hits.is_empty());
            assert!(results.facets.categories.is_empty() && results.facets.brands.is_empty());
            let zero = PRICE_RANGES.iter().map(|(label, _, _)| Bucket {
                key: (*label).to_owned(),
                count: 0,
            });
            assert_eq!(results.facets.price_ranges, zero.collect::<Vec<_>>());
            assert_eq!(results.facets.avg_rating, None);
        }
        // Matching words but no product passing the filters: the same.
        let filtered = SearchRequest {
            price_min: Some(200_000_000),
            ..text("lamp")
        };
        let results = check(&backend, &docs, &filtered).await;
        assert_eq!((results.total, results.facets.avg_rating), (0, None));
        assert_eq!(results.facets.price_ranges.len(), 4);
    }

    #[tokio::test]
    async fn in_stock_products_rank_above_their_out_of_stock_twins() {
        let mut docs = fixture();
        let twin = |id: &str, available| SearchDoc {
            product_id: product_id(id),
            title: "Glowing Orb".into(),
            available,
            ..fixture_doc(7)
        };
        // The out-of-stock twin has the smaller id, so only the boost can put
        // the other first.
        docs.push(twin("ORB-A", 0));
        docs.push(twin("ORB-B", 3));
        let backend = indexed(&docs).await;
        let results = check(&backend, &docs, &text("glowing orb")).await;
        assert_eq!(ids(&results.hits), ["ORB-B", "ORB-A"]);
        let results = check(&backend, &docs, &text("orb")).await;
        assert_eq!(ids(&results.hits), ["ORB-B", "ORB-A"]);
    }

    #[tokio::test]
    async fn filters_do_not_change_the_relevance_order() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        // Titles of different lengths score differently, so a filter adding
        // to the score would reorder the hits.
        for query in ["lamp", "wireless", "headphones"] {
            let all = backend.search(&text(query)).await.unwrap();
            let filtered = SearchRequest {
                brands: BRANDS[..4].iter().map(|b| b.to_string()).collect(),
                price_min: Some(2500),
                in_stock_only: true,
                ..text(query)
            };
            let expected: Vec<SearchDoc> = all.hits.into_iter().filter(|d| filtered.admits(d)).collect();
            assert_eq!(backend.search(&filtered).await.unwrap().hits, expected, "{query}");
        }
    }

    #[tokio::test]
    async fn price_sorts_are_monotonic() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        for query in [everything(), text("lamp")] {
            let asc = check(
                &backend,
                &docs,
                &SearchRequest {
                    sort: SearchSort::PriceAsc,
                    ..query.clone()
                },
            )
            .await;
            assert!(asc.hits.windows(2).all(|w| w[0].price.amount <= w[1].price.amount));
            let desc = check(
                &backend,
                &docs,
                &SearchRequest {
                    sort: SearchSort::PriceDesc,
                    ..query
                },
            )
            .await;
            assert!(desc.hits.windows(2).all(|w| w[0].price.amount >= w[1].price.amount));
        }
    }

    #[tokio::test]
    async fn pages_concatenate_to_one_long_page() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        for query in [everything(), text("lamp"), text("wireless headphones"), text("ceramic")] {
            for (_, sort) in SearchSort::ALL {
                let all = backend.search(&SearchRequest { sort, ..query.clone() }).await.unwrap();
                let mut paged = Vec::new();
                for page in 1.. {
                    let request = SearchRequest {
                        sort,
                        page,
                        limit: 7,
                        ..query.clone()
                    };
                    let results = backend.search(&request).await.unwrap();
                    assert_eq!(results.total, all.total);
                    assert_eq!(results.facets, all.facets);
                    if results.hits.is_empty() {
                        break;
                    }
                    assert!(results.hits.len() == 7 || paged.len() + results.hits.len() == all.hits.len());
                    paged.extend(results.hits);
                }
                assert_eq!(ids(&paged), ids(&all.hits), "{sort:?} {query:?}");
                assert_eq!(ids(&paged).into_iter().collect::<HashSet<_>>().len(), paged.len());
            }
        }
    }

    #[tokio::test]
    async fn an_upsert_replaces_the_product_with_the_same_id() {
        let mut docs = fixture();
        let backend = indexed(&docs).await;
        let old = docs[1].clone();
        let new = SearchDoc {
            title: "Velvet Armchair".into(),
            price: Money::new(30_000, Currency::USD),
            ..old.clone()
        };
        backend.upsert(vec![new.clone()]).await.unwrap();
        docs[1] = new.clone();
        assert_eq!(backend.count().await.unwrap(), FIXTURE as u64);
        let results = check(&backend, &docs, &text("armchair")).await;
        assert_eq!(results.hits, std::slice::from_ref(&new));
        let old_word = words(&old.title).pop().unwrap();
        let results = check(&backend, &docs, &text(&old_word)).await;
        assert!(!results.hits.iter().any(|d| d.product_id == old.product_id));
        check(&backend, &docs, &everything()).await;

        // The last of two versions in one batch wins.
        let first = SearchDoc {
            title: "Oak Bookshelf".into(),
            ..new.clone()
        };
        let last = SearchDoc {
            title: "Pine Bookshelf".into(),
            ..new
        };
        backend.upsert(vec![first, last.clone()]).await.unwrap();
        assert_eq!(backend.count().await.unwrap(), FIXTURE as u64);
        assert_eq!(backend.search(&text("bookshelf")).await.unwrap().hits, [last]);
    }

    #[tokio::test]
    async fn removed_products_are_gone_and_absent_ids_are_fine() {
        let mut docs = fixture();
        let backend = indexed(&docs).await;
        let gone = vec![
            docs[0].product_id.clone(),
            docs[4].product_id.clone(),
            product_id("NOPE"),
        ];
        backend.remove(gone.clone()).await.unwrap();
        docs.retain(|d| !gone.contains(&d.product_id));
        assert_eq!(backend.count().await.unwrap(), FIXTURE as u64 - 2);
        check(&backend, &docs, &everything()).await;
        check(&backend, &docs, &text("headphones")).await;
        backend.remove(Vec::new()).await.unwrap();
        backend.upsert(Vec::new()).await.unwrap();
        assert_eq!(backend.count().await.unwrap(), FIXTURE as u64 - 2);
    }

    /// A directory under the system's temp dir, deleted when dropped.
    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[tokio::test]
    async fn a_reopened_index_finds_the_same_products() {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        let dir = TempDir(std::env::temp_dir().join(format!("shared-tantivy-{}-{nanos}", std::process::id())));
        let docs = fixture();
        let path = dir.0.join("index");
        let before = {
            let backend = TantivyBackend::open(&path).unwrap();
            for batch in docs.chunks(100) {
                backend.upsert(batch.to_vec()).await.unwrap();
            }
            check(&backend, &docs, &text("lmap")).await
        };
        let backend = TantivyBackend::open(&path).unwrap();
        assert_eq!(backend.count().await.unwrap(), FIXTURE as u64);
        assert_eq!(check(&backend, &docs, &text("lmap")).await, before);
        check(&backend, &docs, &everything()).await;
    }
}
