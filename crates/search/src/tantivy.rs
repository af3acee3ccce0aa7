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
//! - **Order and facets**: one collector ([`Matches`]) passes over the
//!   matches once, a block at a time, reading fast-field columns in bulk. It
//!   counts the facets (categories and brands by term ordinal, named once per
//!   segment at the end) and keeps the best hits by a sort key ([`Rank`]):
//!   the score (BM25 × [`boost`], or the boost alone without text) or the
//!   sort's fields, then the product id ascending — first its leading 8 bytes
//!   (`id_key`, comparable across segments), then its term ordinal (the ids'
//!   order within a segment). Only hits of different segments that tie on all
//!   the rest are compared by the ids themselves.
//! - **Segments**: every segment costs a search its own term expansion,
//!   posting lists and top hits, so bulk builds end with
//!   [`TantivyBackend::merge`] into one. Each segment's columns are opened
//!   once ([`ColumnCache`]), not by every search.

use super::{
    Facets, PRICE_RANGES, SearchBackend, SearchDoc, SearchError, SearchRequest, SearchResults, SearchSort, boost,
    fuzzy_distance, price_buckets, top_buckets, words,
};
use shop_domain::catalog::Rating;
use shop_domain::ids::{CategoryId, ProductId};
use shop_domain::money::{Currency, Money};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::{Bound, Range};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tantivy::collector::sort_key::NaturalComparator;
use tantivy::collector::{Collector, SegmentCollector, TopNComputer};
use tantivy::columnar::{Column, StrColumn};
use tantivy::directory::MmapDirectory;
use tantivy::index::SegmentId;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TEXT, Value};
use tantivy::{
    COLLECT_BLOCK_BUFFER_LEN, DocAddress, DocId, Index, IndexBuilder, IndexReader, IndexSettings, IndexWriter,
    ReloadPolicy, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument, TantivyError, Term,
};
use time::OffsetDateTime;

/// The writer's indexing memory, shared by its threads.
const WRITER_HEAP: usize = 50_000_000;

/// Stored fields are compressed in blocks of this many bytes, and reading a
/// hit decompresses its block: with tantivy's default of 16 KiB, reading a
/// page of 20 hits took a tenth of a text search on 1M products. 4 KiB
/// blocks make the index 19% bigger. An index keeps the block size it was
/// created with.
const DOC_STORE_BLOCK: usize = 4096;

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
    index: Index,
    /// tantivy allows one writer per index. Taken out of the slot while in
    /// use, so that a panic mid-change drops it with whatever it had queued;
    /// the next change then opens a new one.
    writer: Mutex<Option<IndexWriter>>,
    reader: IndexReader,
    /// The columns of the reader's segments.
    columns: ColumnCache,
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
        let index = index_builder(schema).open_or_create(directory).map_err(search_error)?;
        Self::with_index(index, fields)
    }

    /// An empty index in memory, for tests.
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = Fields::schema();
        let index = index_builder(schema).create_in_ram().map_err(search_error)?;
        Self::with_index(index, fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<Self, SearchError> {
        let writer: IndexWriter = index.writer(WRITER_HEAP).map_err(search_error)?;
        // Reloaded by hand after each commit rather than by a file watcher, so
        // that a change is visible as soon as `upsert` or `remove` returns.
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(search_error)?;
        let columns = ColumnCache::default();
        columns.refresh(&reader.searcher()).map_err(search_error)?;
        Ok(Self {
            inner: Arc::new(Inner {
                index,
                writer: Mutex::new(Some(writer)),
                reader,
                columns,
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

    /// Merges the index into one segment and deletes the files of the merged
    /// ones. Searches are fastest on one segment, so bulk builds end with
    /// this; later changes add small segments that tantivy's background
    /// merges keep few.
    pub async fn merge(&self) -> Result<(), SearchError> {
        self.run(|inner| inner.merge()).await
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
        self.with_writer(|writer| {
            let applied = apply(writer, &self.fields).and_then(|()| writer.commit().map(drop));
            if let Err(e) = applied {
                // Drop the queued half of the change so the next commit does
                // not publish it. A failed rollback leaves nothing better to do.
                let _ = writer.rollback();
                return Err(search_error(e));
            }
            Ok(())
        })?;
        self.reload()
    }

    /// Merges every segment (and the deletes) into one.
    fn merge(&self) -> Result<(), SearchError> {
        let mut slot = self.writer_slot();
        // Background merges may hold some of the segments, and only closing
        // the writer waits for them.
        if let Some(writer) = slot.take() {
            writer.wait_merging_threads().map_err(search_error)?;
        }
        let writer = slot.insert(self.open_writer()?);
        // Segment metas keep their segment's files from garbage collection
        // while they live, so only the ids outlive this.
        let ids = {
            let segments = self.index.searchable_segment_metas().map_err(search_error)?;
            let merging = segments.len() > 1 || segments.iter().any(|segment| segment.has_deletes());
            merging.then(|| segments.iter().map(|segment| segment.id()).collect::<Vec<_>>())
        };
        if let Some(ids) = ids {
            writer.merge(&ids).wait().map_err(search_error)?;
        }
        // Searches move to the merged segment; files of the old ones that a
        // search still reads are deleted by a later collection.
        self.reload()?;
        writer.garbage_collect_files().wait().map_err(search_error)?;
        Ok(())
    }

    /// Moves searches onto the latest commit.
    fn reload(&self) -> Result<(), SearchError> {
        self.reader.reload().map_err(search_error)?;
        self.columns.refresh(&self.reader.searcher()).map_err(search_error)
    }

    /// Runs `work` with the writer, opening one if there is none.
    fn with_writer<T>(&self, work: impl FnOnce(&mut IndexWriter) -> Result<T, SearchError>) -> Result<T, SearchError> {
        let mut slot = self.writer_slot();
        let mut writer = match slot.take() {
            Some(writer) => writer,
            None => self.open_writer()?,
        };
        let outcome = work(&mut writer);
        *slot = Some(writer);
        outcome
    }

    fn writer_slot(&self) -> MutexGuard<'_, Option<IndexWriter>> {
        // A panic while the lock was held dropped the writer that was out of
        // the slot, and with it any half-made change.
        self.writer.lock().unwrap_or_else(|poisoned| {
            self.writer.clear_poison();
            poisoned.into_inner()
        })
    }

    fn open_writer(&self) -> Result<IndexWriter, SearchError> {
        self.index.writer(WRITER_HEAP).map_err(search_error)
    }

    fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let words = request.text.as_deref().map(words).unwrap_or_default();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let as_prefix = request.as_prefix(&words, i);
            let terms = self.expand(&searcher, word, as_prefix).map_err(search_error)?;
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
        let matches = Matches {
            columns: &self.columns,
            order: HitOrder {
                sort: request.sort,
                by_text: !words.is_empty(),
            },
            page: start..start.saturating_add(request.limit as usize),
        };
        let (page, counts) = searcher.search(&*query, &matches).map_err(search_error)?;
        let hits = page
            .into_iter()
            .map(|address| {
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

    /// The title terms, in any segment, that the word matches
    /// ([`super::word_matches`]): within its edit distance, or, `as_prefix`,
    /// starting with it.
    fn expand(&self, searcher: &Searcher, word: &str, as_prefix: bool) -> tantivy::Result<Vec<Term>> {
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
            if as_prefix {
                let mut terms = index.terms().range().ge(word.as_bytes()).into_stream()?;
                while terms.advance() && terms.key().starts_with(word.as_bytes()) {
                    if let Ok(text) = std::str::from_utf8(terms.key()) {
                        found.insert(text.to_owned());
                    }
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
        if let Some(stars) = request.rating_min {
            let tenths = Term::from_field_u64(fields.rating, u64::from(stars) * 10);
            filters.push(Box::new(RangeQuery::new(Bound::Included(tenths), Bound::Unbounded)));
        }
        filters
    }
}

/// A new index's schema and settings.
fn index_builder(schema: Schema) -> IndexBuilder {
    Index::builder().schema(schema).settings(IndexSettings {
        docstore_blocksize: DOC_STORE_BLOCK,
        ..IndexSettings::default()
    })
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

/// Each segment's columns, opened once rather than by every search: opening
/// parses a column's header, thousands of blocks' worth for the columns of
/// ids (their values grow with the documents, which suits tantivy's
/// blockwise-linear encoding).
#[derive(Default)]
struct ColumnCache {
    segments: RwLock<HashMap<SegmentId, Arc<Columns>>>,
}

impl ColumnCache {
    /// Opens the columns of the searcher's new segments and forgets those of
    /// segments it no longer has.
    fn refresh(&self, searcher: &Searcher) -> tantivy::Result<()> {
        let mut segments = self.segments.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut live = HashMap::new();
        for segment in searcher.segment_readers() {
            let id = segment.segment_id();
            let columns = match segments.remove(&id) {
                Some(columns) => columns,
                None => Arc::new(Columns::open(segment)?),
            };
            live.insert(id, columns);
        }
        *segments = live;
        Ok(())
    }

    /// A segment's columns; opened anew for a segment a reload has dropped
    /// since the search began.
    fn get(&self, segment: &SegmentReader) -> tantivy::Result<Arc<Columns>> {
        let segments = self.segments.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        match segments.get(&segment.segment_id()) {
            Some(columns) => Ok(Arc::clone(columns)),
            None => Ok(Arc::new(Columns::open(segment)?)),
        }
    }
}

/// How a search orders its hits.
#[derive(Debug, Clone, Copy)]
struct HitOrder {
    sort: SearchSort,
    /// Whether BM25 is part of the score (there is text).
    by_text: bool,
}

impl HitOrder {
    fn requires_scoring(self) -> bool {
        self.by_text && self.sort == SearchSort::Relevance
    }
}

/// How a hit ranks within its segment: the greater, the earlier (fields
/// compare in order).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct Rank {
    /// The relevance score; 0 for the other sorts.
    score: f32,
    /// The sort's fields, negated when ascending; 0 for relevance.
    keys: [i64; 2],
    id_key: Reverse<u64>,
    /// The id's term ordinal, which follows the ids' order within a segment
    /// only.
    id: Reverse<u64>,
}

impl Rank {
    /// What the sort decides, before the tie-breaks on the id.
    fn sorted(&self) -> (f32, [i64; 2]) {
        (self.score, self.keys)
    }

    /// All but the id's ordinal: what compares across segments.
    fn global(&self) -> (f32, [i64; 2], Reverse<u64>) {
        (self.score, self.keys, self.id_key)
    }
}

/// Matches handed over in one go by tantivy (without scores), and so the
/// size of the blocks scored matches are gathered into.
const BLOCK: usize = COLLECT_BLOCK_BUFFER_LEN;

/// One pass over the matches: the page's hits, in [`HitOrder`], and the
/// facets over every match.
struct Matches<'a> {
    columns: &'a ColumnCache,
    order: HitOrder,
    /// The page's place in the whole order.
    page: Range<usize>,
}

impl Collector for Matches<'_> {
    /// The page's hits, and the facets.
    type Fruit = (Vec<DocAddress>, FacetCounts);
    type Child = SegmentMatches;

    fn for_segment(&self, segment_ord: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<SegmentMatches> {
        let columns = self.columns.get(segment)?;
        Ok(SegmentMatches {
            segment_ord,
            order: self.order,
            top: TopNComputer::new_with_comparator(self.page.end, NaturalComparator),
            categories: TermCounts::new(columns.categories.as_ref()),
            brands: TermCounts::new(columns.brands.as_ref()),
            prices: [0; 4],
            rating_tenths: 0,
            total: 0,
            scored_docs: Vec::with_capacity(BLOCK),
            scores: Vec::with_capacity(BLOCK),
            block: Box::default(),
            columns,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.order.requires_scoring()
    }

    fn merge_fruits(&self, segments: Vec<SegmentMatches>) -> tantivy::Result<Self::Fruit> {
        let mut counts = FacetCounts::default();
        let mut hits = Vec::new();
        let mut ids = Vec::with_capacity(segments.len());
        for segment in segments {
            counts.add(&segment)?;
            let index = ids.len();
            hits.extend(segment.top.into_vec().into_iter().map(|kept| Hit {
                rank: kept.sort_key,
                segment: index,
                address: DocAddress::new(segment.segment_ord, kept.doc),
                id: String::new(),
            }));
            ids.push(segment.columns);
        }
        order_hits(&mut hits, &ids)?;
        let page = hits
            .into_iter()
            .skip(self.page.start)
            .take(self.page.len())
            .map(|hit| hit.address)
            .collect();
        Ok((page, counts))
    }
}

/// A hit a segment kept, on its way to the page.
struct Hit {
    rank: Rank,
    /// Which segment's id column names it.
    segment: usize,
    address: DocAddress,
    /// The product id, looked up only to break a tie across segments.
    id: String,
}

/// Puts hits of several segments in order: by everything but the id's
/// ordinal, then hits of one segment by that ordinal and hits of different
/// segments by their ids, read from `ids` (one column per segment).
fn order_hits(hits: &mut [Hit], ids: &[Arc<Columns>]) -> tantivy::Result<()> {
    let by_rank = |a: &Hit, b: &Hit| b.rank.global().partial_cmp(&a.rank.global()).unwrap_or(Ordering::Equal);
    hits.sort_by(by_rank);
    for tied in hits.chunk_by_mut(|a, b| by_rank(a, b) == Ordering::Equal) {
        if tied.iter().all(|hit| hit.segment == tied[0].segment) {
            tied.sort_by_key(|hit| hit.rank.id.0);
            continue;
        }
        for hit in tied.iter_mut() {
            if let Some(column) = &ids[hit.segment].ids {
                column.ord_to_str(hit.rank.id.0, &mut hit.id)?;
            }
        }
        tied.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(())
}

/// One segment's share of [`Matches`].
struct SegmentMatches {
    segment_ord: SegmentOrdinal,
    order: HitOrder,
    columns: Arc<Columns>,
    /// The best hits so far (as many as the page and those before it).
    top: TopNComputer<Rank, DocId, NaturalComparator>,
    categories: TermCounts,
    brands: TermCounts,
    prices: [u64; 4],
    rating_tenths: u64,
    total: u64,
    /// Scored matches come one at a time; they wait here for a block.
    scored_docs: Vec<DocId>,
    scores: Vec<Score>,
    /// Room for the column values of a block.
    block: Box<BlockValues>,
}

/// The column values of a block of matches, read in bulk (`None` where a
/// document has no value, as for a single read).
struct BlockValues {
    ratings: Values<u64>,
    prices: Values<i64>,
    categories: Values<u64>,
    brands: Values<u64>,
    /// The sort's own fields, read only for the sorts that need them.
    available: Values<i64>,
    reviews: Values<u64>,
    created_at: Values<i64>,
    /// The matches that may make the top hits, their score and sort
    /// fields, and then their ids' columns.
    candidates: [DocId; BLOCK],
    sorted: [(f32, [i64; 2]); BLOCK],
    id_keys: Values<u64>,
    ids: Values<u64>,
}

/// One column's values for a block.
type Values<T> = [Option<T>; BLOCK];

impl Default for BlockValues {
    fn default() -> Self {
        Self {
            ratings: [None; BLOCK],
            prices: [None; BLOCK],
            categories: [None; BLOCK],
            brands: [None; BLOCK],
            available: [None; BLOCK],
            reviews: [None; BLOCK],
            created_at: [None; BLOCK],
            candidates: [0; BLOCK],
            sorted: [(0.0, [0; 2]); BLOCK],
            id_keys: [None; BLOCK],
            ids: [None; BLOCK],
        }
    }
}

/// Reads a block's values of one column; the block holds at most [`BLOCK`]
/// documents.
fn read<T>(column: &Column<T>, docs: &[DocId], into: &mut Values<T>)
where
    T: PartialOrd + Copy + fmt::Debug + Send + Sync + 'static,
{
    let into = &mut into[..docs.len()];
    // `first_vals` leaves the slots of documents without a value as they were.
    into.fill(None);
    column.first_vals(docs, into);
}

/// Reads a block's term ordinals of a string column (none if the segment has
/// no such column).
fn read_ords(column: Option<&StrColumn>, docs: &[DocId], into: &mut Values<u64>) {
    match column {
        Some(column) => read(column.ords(), docs, into),
        None => into[..docs.len()].fill(None),
    }
}

impl SegmentMatches {
    /// Counts and ranks up to [`BLOCK`] matches, in document order; `scores`
    /// is empty when the search does not score.
    fn collect_matches(&mut self, docs: &[DocId], scores: &[Score]) {
        let (c, values) = (&self.columns, &mut *self.block);
        read(&c.rating, docs, &mut values.ratings);
        read(&c.price, docs, &mut values.prices);
        read_ords(c.categories.as_ref(), docs, &mut values.categories);
        read_ords(c.brands.as_ref(), docs, &mut values.brands);
        let n = docs.len();
        self.categories.add(&values.categories[..n]);
        self.brands.add(&values.brands[..n]);
        count_prices(&mut self.prices, &values.prices[..n]);
        self.rating_tenths += values.ratings[..n]
            .iter()
            .map(|tenths| tenths.unwrap_or(0))
            .sum::<u64>();
        self.total += n as u64;

        match self.order.sort {
            SearchSort::Relevance => read(&c.available, docs, &mut values.available),
            SearchSort::Rating => read(&c.reviews, docs, &mut values.reviews),
            SearchSort::Newest => read(&c.created_at, docs, &mut values.created_at),
            SearchSort::PriceAsc | SearchSort::PriceDesc => {}
        }
        // Most matches lose to the hits kept already on the sort alone; only
        // the others read the id's columns.
        let mut kept = 0;
        for (i, &doc) in docs.iter().enumerate() {
            let sorted = sort_key(self.order, values, i, scores.get(i).copied().unwrap_or(0.0));
            if self.top.threshold.as_ref().is_some_and(|t| sorted < t.sorted()) {
                continue;
            }
            values.candidates[kept] = doc;
            values.sorted[kept] = sorted;
            kept += 1;
        }
        let candidates = &values.candidates[..kept];
        read(&c.id_key, candidates, &mut values.id_keys);
        read_ords(c.ids.as_ref(), candidates, &mut values.ids);
        for (i, &doc) in candidates.iter().enumerate() {
            let (score, keys) = values.sorted[i];
            let rank = Rank {
                score,
                keys,
                id_key: Reverse(values.id_keys[i].unwrap_or(0)),
                id: Reverse(values.ids[i].unwrap_or(0)),
            };
            self.top.push(rank, doc);
        }
    }

    fn collect_scored(&mut self) {
        let (mut docs, mut scores) = (std::mem::take(&mut self.scored_docs), std::mem::take(&mut self.scores));
        self.collect_matches(&docs, &scores);
        docs.clear();
        scores.clear();
        (self.scored_docs, self.scores) = (docs, scores);
    }
}

/// Counts prices into the [`PRICE_RANGES`] as [`super::price_range`] does,
/// a range at a time: prices come in no order, so a branch on each would
/// often mispredict.
fn count_prices(counts: &mut [u64; 4], prices: &[Option<i64>]) {
    let mut later = 0;
    for (count, (_, from, to)) in counts.iter_mut().zip(PRICE_RANGES).skip(1) {
        let within = prices
            .iter()
            .flatten()
            .filter(|price| (from..to).contains(price))
            .count() as u64;
        *count += within;
        later += within;
    }
    // The first range also takes prices outside every range.
    counts[0] += prices.iter().flatten().count() as u64 - later;
}

/// The score and the sort's fields of the `i`th document of a block.
fn sort_key(order: HitOrder, values: &BlockValues, i: usize, score: Score) -> (f32, [i64; 2]) {
    match order.sort {
        SearchSort::Relevance => {
            let in_stock = values.available[i].unwrap_or(0) > 0;
            let boost = boost(in_stock, rating(values.ratings[i].unwrap_or(0)));
            (if order.by_text { score * boost } else { boost }, [0, 0])
        }
        SearchSort::PriceAsc => (0.0, [values.prices[i].unwrap_or(0).saturating_neg(), 0]),
        SearchSort::PriceDesc => (0.0, [values.prices[i].unwrap_or(0), 0]),
        SearchSort::Rating => {
            let key = |n: Option<u64>| i64::try_from(n.unwrap_or(0)).unwrap_or(i64::MAX);
            (0.0, [key(values.ratings[i]), key(values.reviews[i])])
        }
        SearchSort::Newest => (0.0, [values.created_at[i].unwrap_or(0), 0]),
    }
}

impl SegmentCollector for SegmentMatches {
    type Fruit = Self;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.scored_docs.push(doc);
        self.scores.push(score);
        if self.scored_docs.len() == BLOCK {
            self.collect_scored();
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for block in docs.chunks(BLOCK) {
            self.collect_matches(block, &[]);
        }
    }

    fn harvest(mut self) -> Self {
        self.collect_scored();
        self
    }
}

/// A segment's matches per term of a string column, by term ordinal.
struct TermCounts {
    by_ord: Vec<u64>,
}

impl TermCounts {
    fn new(column: Option<&StrColumn>) -> Self {
        Self {
            by_ord: vec![0; column.map_or(0, |column| column.num_terms())],
        }
    }

    fn add(&mut self, ords: &[Option<u64>]) {
        for ord in ords.iter().flatten() {
            if let Some(count) = self.by_ord.get_mut(*ord as usize) {
                *count += 1;
            }
        }
    }

    /// Adds the counts to `to`, by term, reading the terms from the column's
    /// dictionary in one pass.
    fn add_to(&self, column: Option<&StrColumn>, to: &mut HashMap<String, u64>) -> tantivy::Result<()> {
        let Some(column) = column else {
            return Ok(());
        };
        let ords: Vec<u64> = (0..self.by_ord.len() as u64)
            .filter(|&ord| self.by_ord[ord as usize] > 0)
            .collect();
        let mut counts = ords.iter().map(|&ord| self.by_ord[ord as usize]);
        let found = column.dictionary().sorted_ords_to_term_cb(&ords, |term| {
            let count = counts.next().unwrap_or(0);
            *to.entry(String::from_utf8_lossy(term).into_owned()).or_default() += count;
        })?;
        if !found {
            return Err(TantivyError::InternalError(
                "a facet's term ordinal is not in its dictionary".into(),
            ));
        }
        Ok(())
    }
}

/// The facet counts over every segment.
#[derive(Debug, Default)]
struct FacetCounts {
    categories: HashMap<String, u64>,
    brands: HashMap<String, u64>,
    prices: [u64; 4],
    rating_tenths: u64,
    total: u64,
}

impl FacetCounts {
    fn add(&mut self, segment: &SegmentMatches) -> tantivy::Result<()> {
        let columns = &segment.columns;
        segment
            .categories
            .add_to(columns.categories.as_ref(), &mut self.categories)?;
        segment.brands.add_to(columns.brands.as_ref(), &mut self.brands)?;
        for (total, count) in self.prices.iter_mut().zip(segment.prices) {
            *total += count;
        }
        self.rating_tenths += segment.rating_tenths;
        self.total += segment.total;
        Ok(())
    }

    fn into_facets(self) -> Facets {
        Facets {
            categories: top_buckets(self.categories),
            brands: top_buckets(self.brands),
            price_ranges: price_buckets(self.prices),
            avg_rating: (self.total > 0).then(|| self.rating_tenths as f64 / self.total as f64 / 10.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{self, catalog};
    use crate::{Bucket, PRICE_RANGES};
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
                rating_min: Some(4),
                ..everything()
            },
            SearchRequest {
                rating_min: Some(5),
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
                rating_min: Some(2),
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
    async fn a_suggestions_last_word_may_be_the_start_of_a_title_word() {
        let docs = fixture();
        let backend = indexed(&docs).await;
        let typing = |q: &str| SearchRequest {
            prefix: true,
            ..text(q)
        };
        for (query, word) in [
            ("headph", "headphones"),
            ("wireless speak", "speaker"),
            ("hedphones", "headphones"),
        ] {
            let results = check(&backend, &docs, &typing(query)).await;
            let titled = results
                .hits
                .iter()
                .all(|d| words(&d.title).iter().any(|w| w.starts_with(word) || w == word));
            assert!(results.total > 0 && titled, "{query} suggests titles with {word}");
        }
        // Only the last word is a prefix, and one letter is not one.
        assert_eq!(check(&backend, &docs, &typing("headph wireless")).await.total, 0);
        assert_eq!(
            check(&backend, &docs, &typing("l")).await.total,
            check(&backend, &docs, &text("l")).await.total
        );
        // Without `prefix`, a word's start is not enough.
        assert_eq!(check(&backend, &docs, &text("headph")).await.total, 0);
        for query in ["lam", "ceram", "noise canc", "4k", "speeker", "eco"] {
            for (_, sort) in SearchSort::ALL {
                check(&backend, &docs, &SearchRequest { sort, ..typing(query) }).await;
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
