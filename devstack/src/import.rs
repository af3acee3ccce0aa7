//! `devstack import`: loads categories, products and stock into any running
//! stack, the local one or a deployed one, through its public HTTP API only
//! (`PUT /admin/categories/{id}`, `PUT /admin/products/{id}`,
//! `PUT /admin/products/{id}/stock`). docs/import.md describes the files.
//!
//! An import reads every row of every input first and checks it locally
//! with the same rules the API applies (`shop_domain`'s drafts), so a bad
//! row is reported by `FILE:LINE` before anything is sent; the API's own
//! refusals are reported the same way. Then it sends the categories (parents
//! before children, level by level), the products (each followed by its
//! stock, when the row gives one), then the stock rows, a few requests at a
//! time.
//!
//! Every request is an idempotent PUT, so sending a row again is harmless.
//! That is what makes the checkpoint simple: each imported row is appended
//! to `FILE.import-state` as soon as the API has accepted it, and `--resume`
//! skips the rows recorded there. A crash or Ctrl-C can only lose the rows
//! that were in flight, which are sent again.
//!
//! The demo catalog (`devstack::seed`) goes through the same path: it is
//! written in the import format ([`write_demo_catalog`]) and read back like
//! a file.

use crate::client::{Answer, ApiClient};
use crate::seed;
use anyhow::{Context, bail};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use shop_domain::catalog::{CategoryDraft, CategoryDraftInput, PriceInput, ProductDraft, ProductDraftInput};
use shop_domain::ids::{CategoryId, ProductId};
use shop_domain::stock::{OnHand, ShardCount};
use shop_domain::validation::FieldError;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::watch;

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON Lines: one JSON object per line (`.jsonl`, `.ndjson`).
    Jsonl,
    /// Comma-separated values with a header row (`.csv`).
    Csv,
}

impl Format {
    /// The format a file's name says (`.jsonl`, `.ndjson`, `.csv`).
    pub fn of_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Where rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file, in the format its extension names (or [`ImportOptions::format`]),
    /// with its checkpoint beside it.
    File(PathBuf),
    /// Standard input: JSON Lines unless [`ImportOptions::format`] says CSV.
    /// It keeps no checkpoint.
    Stdin,
    /// The demo catalog of `products` products (`devstack::seed`), exactly
    /// as `devstack demo-catalog --format jsonl` writes it. It keeps no
    /// checkpoint: running it again sends every row again, which is safe.
    Demo { products: usize },
}

/// What to import, where, and how.
pub struct ImportOptions {
    /// The API, with an admin's token.
    pub api: ApiClient,
    pub inputs: Vec<Input>,
    /// Overrides the format the file names say.
    pub format: Option<Format>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Skip the rows the inputs' checkpoints record as imported.
    pub resume: bool,
    /// Show a progress bar, and print bad rows and notes to stderr as they
    /// are found.
    pub progress: bool,
    /// Stops the import (as Ctrl-C does) when it turns `true`.
    pub interrupt: Option<watch::Receiver<bool>>,
    /// For tests: stop as an interrupt would once this many rows have been
    /// imported, abandoning the requests in flight.
    #[doc(hidden)]
    pub stop_after: Option<usize>,
}

impl ImportOptions {
    /// `inputs` into `api`, 8 requests at a time, from the first row, quietly.
    pub fn new(api: ApiClient, inputs: Vec<Input>) -> Self {
        Self {
            api,
            inputs,
            format: None,
            concurrency: 8,
            resume: false,
            progress: false,
            interrupt: None,
            stop_after: None,
        }
    }
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The input as named on the command line (`-` for stdin, `demo` for
    /// the demo catalog).
    pub file: String,
    /// The row's line: for CSV the line its record starts on, the header
    /// being line 1.
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Why an import ended before its last row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// Ctrl-C (or the test's `stop_after`).
    Interrupted,
    /// The API stopped answering, or refused the token; nothing later could
    /// have gone through.
    Failed(String),
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    /// Rows imported by this run.
    pub imported: usize,
    /// Rows skipped because a checkpoint records them as imported.
    pub skipped: usize,
    /// Rows refused, locally or by the API, in file and line order.
    pub bad: Vec<BadRow>,
    /// Why the import ended early, if it did.
    pub stopped: Option<Stopped>,
    /// Rows this run started sending (an interrupted run's rows in flight
    /// included).
    pub rows_sent: usize,
    /// HTTP requests this run sent, retries and the category lookup included.
    pub requests: u64,
    /// What the run noticed on the way (a checkpoint resumed or overwritten).
    pub notes: Vec<String>,
}

impl Report {
    /// Every row imported now or before, none refused, not stopped.
    pub fn is_success(&self) -> bool {
        self.bad.is_empty() && self.stopped.is_none()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} imported, {} bad rows", self.imported, self.bad.len())?;
        if self.skipped > 0 {
            write!(f, ", {} skipped (imported before, says the checkpoint)", self.skipped)?;
        }
        match &self.stopped {
            None => Ok(()),
            Some(Stopped::Interrupted) => write!(f, "; interrupted (--resume continues)"),
            Some(Stopped::Failed(reason)) => write!(f, "; stopped: {reason} (--resume continues)"),
        }
    }
}

/// The checkpoint of `input`: `<input>.import-state` beside it.
pub fn checkpoint_path(input: &Path) -> PathBuf {
    let mut name = input.file_name().unwrap_or_default().to_os_string();
    name.push(".import-state");
    input.with_file_name(name)
}

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

/// One checked row: what it asks the API to do.
#[derive(Debug, Clone, PartialEq)]
enum Record {
    Category {
        id: CategoryId,
        draft: CategoryDraft,
    },
    Product {
        id: ProductId,
        draft: ProductDraft,
        on_hand: Option<OnHand>,
    },
    Stock {
        product: ProductId,
        on_hand: OnHand,
        shards: Option<ShardCount>,
    },
}

impl Record {
    /// The requests that import the row, in order: path and JSON body of
    /// each PUT.
    fn requests(&self) -> Vec<(String, Value)> {
        let stock = |id: &ProductId, on_hand: OnHand, shards: Option<ShardCount>| {
            let mut body = json!({ "onHand": on_hand.units() });
            if let Some(shards) = shards {
                body["shards"] = json!(shards.get());
            }
            (format!("/admin/products/{id}/stock"), body)
        };
        match self {
            Self::Category { id, draft } => {
                let mut body = json!({ "name": draft.name });
                if let Some(parent) = &draft.parent_id {
                    body["parentId"] = json!(parent.as_str());
                }
                vec![(format!("/admin/categories/{id}"), body)]
            }
            Self::Product { id, draft, on_hand } => {
                let product = json!({
                    "title": draft.title,
                    "description": draft.description,
                    "brand": draft.brand,
                    "categoryId": draft.category_id.as_str(),
                    "price": { "amount": draft.price.amount, "currency": draft.price.currency.as_str() },
                });
                let mut requests = vec![(format!("/admin/products/{id}"), product)];
                requests.extend(on_hand.map(|units| stock(id, units, None)));
                requests
            }
            Self::Stock {
                product,
                on_hand,
                shards,
            } => vec![stock(product, *on_hand, *shards)],
        }
    }

    /// What identifies the row in a checkpoint: a digest of its requests,
    /// so a resumed import skips a row only if it would send exactly the
    /// same thing again (an edited row is sent again).
    fn digest(&self) -> String {
        let mut hash = Sha256::new();
        for (path, body) in self.requests() {
            hash.update(path.as_bytes());
            hash.update(b"\n");
            hash.update(body.to_string().as_bytes());
            hash.update(b"\n");
        }
        hash.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

const KINDS: &str = "category, product or stock";
const CATEGORY_FIELDS: &[&str] = &["kind", "id", "name", "parentId"];
const PRODUCT_FIELDS: &[&str] = &[
    "kind",
    "id",
    "title",
    "description",
    "brand",
    "categoryId",
    "price",
    "currency",
    "onHand",
];
const STOCK_FIELDS: &[&str] = &["kind", "productId", "onHand", "shards"];

fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// A row's fields, taken one by one; every problem is collected so that a
/// row's report names all of them at once.
struct Fields {
    map: Map<String, Value>,
    problems: Vec<String>,
}

impl Fields {
    fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|v| !v.is_null())
    }

    fn missing(&mut self, name: &str) {
        self.problems.push(format!("{name}: missing"));
    }

    /// `value` (the field `name`) read by `read`, or a problem saying it
    /// must be `expected`; a missing value is a problem when `required`.
    fn typed<T>(
        &mut self,
        name: &str,
        value: Option<Value>,
        required: bool,
        expected: &str,
        read: impl Fn(&Value) -> Option<T>,
    ) -> Option<T> {
        match value {
            Some(value) => {
                let read = read(&value);
                if read.is_none() {
                    self.problems
                        .push(format!("{name}: must be {expected}, not {}", show(&value)));
                }
                read
            }
            None => {
                if required {
                    self.missing(name);
                }
                None
            }
        }
    }

    fn text(&mut self, name: &str, required: bool) -> Option<String> {
        let value = self.take(name);
        self.typed(name, value, required, "a string", |v| v.as_str().map(str::to_owned))
    }

    fn whole(&mut self, name: &str, required: bool) -> Option<i64> {
        let value = self.take(name);
        self.typed(name, value, required, "a whole number", Value::as_i64)
    }

    /// `price`: `{ "amount": cents, "currency": "USD" }` as the API takes
    /// it, or a decimal string (`"19.99"`) in `currency` (default USD).
    fn price(&mut self) -> Option<PriceInput> {
        let currency = self.text("currency", false);
        match self.take("price") {
            Some(Value::Object(mut money)) => {
                if currency.is_some() {
                    self.problems
                        .push("currency: goes inside price when price is an object".into());
                }
                let amount = money.remove("amount");
                let code = money.remove("currency");
                if let Some(extra) = money.keys().next() {
                    self.problems
                        .push(format!("price.{extra}: unknown (price has amount and currency)"));
                }
                let amount = self.typed("price.amount", amount, true, "a whole number of cents", Value::as_i64);
                let code = self.typed("price.currency", code, true, "a string", |v| {
                    v.as_str().map(str::to_owned)
                });
                Some(PriceInput {
                    amount: amount?,
                    currency: code?,
                })
            }
            Some(Value::String(decimal)) => match parse_decimal(&decimal) {
                Ok(amount) => Some(PriceInput {
                    amount,
                    currency: currency.unwrap_or_else(|| shop_domain::catalog::SHOP_CURRENCY.to_string()),
                }),
                Err(message) => {
                    self.problems.push(format!("price: {message}"));
                    None
                }
            },
            Some(other) => {
                self.problems.push(format!(
                    "price: must be {{\"amount\": cents, \"currency\": \"USD\"}} or a decimal string such as \"19.99\", not {}",
                    show(&other)
                ));
                None
            }
            None => {
                self.missing("price");
                None
            }
        }
    }

    /// Reports the fields nobody took.
    fn finish(&mut self, kind: &str, allowed: &[&str]) {
        let extra: Vec<String> = self.map.keys().cloned().collect();
        for name in extra {
            self.problems.push(format!(
                "{name}: not a field of a {kind} row (those are: {})",
                allowed.join(", ")
            ));
        }
    }
}

/// A decimal amount in major units (`19.99`, `20`, `5.5`) in minor units.
fn parse_decimal(text: &str) -> Result<i64, String> {
    let wrong = || format!("{text:?} is not an amount such as 19.99 (digits, then at most two decimals)");
    let trimmed = text.trim();
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 2 {
        return Err(wrong());
    }
    if whole.len() > 12 {
        return Err(format!("{text:?} is far above the highest price"));
    }
    let cents: i64 = format!("{whole}{fraction:0<2}").parse().map_err(|_| wrong())?;
    Ok(if negative { -cents } else { cents })
}

fn field_errors(errors: Vec<FieldError>) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect()
}

/// Checks one row, given as a JSON object (a JSON Lines record, or a CSV
/// record turned into one), as the API would.
fn parse_record(object: Map<String, Value>) -> Result<Record, String> {
    let mut fields = Fields {
        map: object,
        problems: Vec::new(),
    };
    let kind = match fields.take("kind") {
        Some(Value::String(kind)) => kind,
        Some(other) => return Err(format!("kind: must be {KINDS}, not {}", show(&other))),
        None => return Err(format!("kind: missing ({KINDS})")),
    };
    let record = match kind.as_str() {
        "category" => {
            let id = fields.text("id", true);
            let name = fields.text("name", true);
            let parent_id = fields.text("parentId", false);
            fields.finish("category", CATEGORY_FIELDS);
            let id = id.and_then(|id| {
                CategoryId::parse(id)
                    .map_err(|m| fields.problems.push(format!("id: {m}")))
                    .ok()
            });
            match (id, name) {
                (Some(id), Some(name)) if fields.problems.is_empty() => {
                    CategoryDraft::parse(&id, CategoryDraftInput { name, parent_id })
                        .map(|draft| Record::Category { id, draft })
                        .map_err(field_errors)
                }
                _ => Err(Vec::new()),
            }
        }
        "product" => {
            let id = fields.text("id", true);
            let title = fields.text("title", true);
            let description = fields.text("description", false).unwrap_or_default();
            let brand = fields.text("brand", true);
            let category_id = fields.text("categoryId", true);
            let price = fields.price();
            let on_hand = fields.whole("onHand", false);
            fields.finish("product", PRODUCT_FIELDS);
            let mut problems = Vec::new();
            let id = id.and_then(|id| ProductId::parse(id).map_err(|m| problems.push(format!("id: {m}"))).ok());
            let on_hand = on_hand
                .map(|units| OnHand::parse(units).map_err(|m| problems.push(format!("onHand: {m}"))))
                .transpose()
                .ok()
                .flatten();
            match (title, brand, category_id, price) {
                (Some(title), Some(brand), Some(category_id), Some(price)) if fields.problems.is_empty() => {
                    let draft = ProductDraft::parse(ProductDraftInput {
                        title,
                        description,
                        brand,
                        category_id,
                        price,
                    })
                    .map_err(|errors| problems.extend(field_errors(errors)));
                    match (id, draft) {
                        (Some(id), Ok(draft)) if problems.is_empty() => Ok(Record::Product { id, draft, on_hand }),
                        _ => Err(problems),
                    }
                }
                _ => Err(problems),
            }
        }
        "stock" => {
            let product = fields.text("productId", true);
            let on_hand = fields.whole("onHand", true);
            let shards = fields.whole("shards", false);
            fields.finish("stock", STOCK_FIELDS);
            let mut problems = Vec::new();
            let product = product.and_then(|id| {
                ProductId::parse(id)
                    .map_err(|m| problems.push(format!("productId: {m}")))
                    .ok()
            });
            let on_hand = on_hand.and_then(|units| {
                OnHand::parse(units)
                    .map_err(|m| problems.push(format!("onHand: {m}")))
                    .ok()
            });
            let shards = match shards.map(ShardCount::parse).transpose() {
                Ok(shards) => shards,
                Err(m) => {
                    problems.push(format!("shards: {m}"));
                    None
                }
            };
            match (product, on_hand) {
                (Some(product), Some(on_hand)) if problems.is_empty() && fields.problems.is_empty() => {
                    Ok(Record::Stock {
                        product,
                        on_hand,
                        shards,
                    })
                }
                _ => Err(problems),
            }
        }
        other => return Err(format!("kind: {other:?} is not {KINDS}")),
    };
    record.map_err(|more| {
        let mut problems = fields.problems;
        problems.extend(more);
        problems.join("; ")
    })
}

// ---------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------

/// A row as read: its line and either its record or why it is bad.
type Parsed = (u64, Result<Record, String>);

fn parse_jsonl(bytes: &[u8]) -> Vec<Parsed> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rows = Vec::new();
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let number = index as u64 + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(object)) => parse_record(object),
            Ok(other) => Err(format!("not a JSON object: {}", show(&other))),
            Err(e) => Err(format!("not valid JSON: {}", json_error(&e))),
        };
        rows.push((number, parsed));
    }
    rows
}

/// serde_json's message without its "at line 1" (the line is the row's).
fn json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => format!("{} (column {})", &text[..at], error.column()),
        None => text,
    }
}

/// The columns of CSV rows of these kinds: each kind's fields in order,
/// each once. `demo-catalog` writes categories' and products' columns in
/// this order; a header names them in any case, with or without `_`, `-` or
/// spaces (`parentId`, `parent_id`, `Parent ID`).
fn csv_columns(kinds: &[&[&'static str]]) -> Vec<&'static str> {
    let mut columns = Vec::new();
    for field in kinds.iter().flat_map(|fields| fields.iter()) {
        if !columns.contains(field) {
            columns.push(*field);
        }
    }
    columns
}

/// Every kind's fields, for a header that may name any of them.
const ALL_KINDS: &[&[&str]] = &[CATEGORY_FIELDS, PRODUCT_FIELDS, STOCK_FIELDS];
/// Columns whose cells are whole numbers.
const CSV_NUMBERS: &[&str] = &["onHand", "shards"];

fn canonical_column(header: &str) -> Option<&'static str> {
    let key: String = header
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    csv_columns(ALL_KINDS).into_iter().find(|c| c.to_lowercase() == key)
}

/// The kind of every row of a CSV file without a `kind` column, from its
/// columns. In such a file the id column may also be named for its kind
/// (`Product ID` in a products file, `Category ID` in a categories file).
fn csv_kind(columns: &mut [&'static str]) -> Result<&'static str, String> {
    let has = |columns: &[&str], c: &str| columns.contains(&c);
    let (kind, allowed, own_id) = if has(columns, "title") {
        ("product", PRODUCT_FIELDS, "productId")
    } else if has(columns, "name") {
        ("category", CATEGORY_FIELDS, "categoryId")
    } else if has(columns, "productId") && has(columns, "onHand") {
        ("stock", STOCK_FIELDS, "productId")
    } else {
        return Err(format!(
            "cannot tell what the rows are: add a kind column ({KINDS}), or use the columns of one kind (see docs/import.md)"
        ));
    };
    if !has(columns, "id") && kind != "stock" {
        for column in columns.iter_mut().filter(|c| **c == own_id) {
            *column = "id";
        }
    }
    if let Some(stray) = columns.iter().find(|c| !allowed.contains(c)) {
        return Err(format!(
            "column {stray} does not belong in a file of {kind} rows (those have: {})",
            allowed[1..].join(", ")
        ));
    }
    Ok(kind)
}

fn parse_csv(bytes: &[u8]) -> Vec<Parsed> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(e) => return vec![(1, Err(format!("the header row: {e}")))],
    };
    let mut columns = Vec::new();
    for name in &header {
        match canonical_column(name) {
            Some(column) if columns.contains(&column) => {
                return vec![(1, Err(format!("the header names column {column} twice")))];
            }
            Some(column) => columns.push(column),
            None => {
                return vec![(
                    1,
                    Err(format!(
                        "unknown column {name:?} (columns: {})",
                        csv_columns(ALL_KINDS).join(", ")
                    )),
                )];
            }
        }
    }
    let fixed_kind = if columns.contains(&"kind") {
        None
    } else {
        match csv_kind(&mut columns) {
            Ok(kind) => Some(kind),
            Err(message) => return vec![(1, Err(message))],
        }
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("{len} cells, but the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
                    _ => e.to_string(),
                };
                rows.push((line, Err(reason)));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut object = Map::new();
        if let Some(kind) = fixed_kind {
            object.insert("kind".into(), json!(kind));
        }
        for (column, cell) in columns.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            let value = match cell.parse::<i64>() {
                Ok(n) if CSV_NUMBERS.contains(column) => json!(n),
                _ => json!(cell),
            };
            object.insert((*column).to_owned(), value);
        }
        rows.push((line, parse_record(object)));
    }
    rows
}

// ---------------------------------------------------------------------------
// The demo catalog
// ---------------------------------------------------------------------------

fn decimal(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Writes the demo catalog the local seeder makes (`seed::categories()`,
/// then `seed::product(1..=products)` with their stock) in the import
/// format: one file, categories first. In CSV it has a `kind` column and
/// prices as decimals.
///
/// The API takes no rating, review count or creation time, so a catalog
/// imported from it has every product's title, description, brand,
/// category, price and stock as seeded, with no ratings or reviews yet.
pub fn write_demo_catalog(products: usize, format: Format, out: impl Write) -> anyhow::Result<()> {
    match format {
        Format::Jsonl => {
            let mut out = std::io::BufWriter::new(out);
            for category in seed::categories() {
                let mut row = json!({ "kind": "category", "id": category.id.as_str(), "name": category.name });
                if let Some(parent) = &category.parent_id {
                    row["parentId"] = json!(parent.as_str());
                }
                writeln!(out, "{row}")?;
            }
            for n in 1..=products {
                let (product, on_hand) = seed::product(n);
                let row = json!({
                    "kind": "product",
                    "id": product.id.as_str(),
                    "title": product.title,
                    "description": product.description,
                    "brand": product.brand,
                    "categoryId": product.category_id.as_str(),
                    "price": { "amount": product.price.amount, "currency": product.price.currency.as_str() },
                    "onHand": on_hand,
                });
                writeln!(out, "{row}")?;
            }
            out.flush()?;
        }
        Format::Csv => {
            let columns = csv_columns(&[CATEGORY_FIELDS, PRODUCT_FIELDS]);
            let mut out = csv::Writer::from_writer(out);
            out.write_record(&columns)?;
            let mut row = |cells: &[(&str, String)]| {
                let record: Vec<&str> = columns
                    .iter()
                    .map(|c| cells.iter().find(|(name, _)| name == c).map_or("", |(_, v)| v.as_str()))
                    .collect();
                out.write_record(record)
            };
            for category in seed::categories() {
                row(&[
                    ("kind", "category".into()),
                    ("id", category.id.to_string()),
                    ("name", category.name.clone()),
                    (
                        "parentId",
                        category.parent_id.as_ref().map(ToString::to_string).unwrap_or_default(),
                    ),
                ])?;
            }
            for n in 1..=products {
                let (product, on_hand) = seed::product(n);
                row(&[
                    ("kind", "product".into()),
                    ("id", product.id.to_string()),
                    ("title", product.title.clone()),
                    ("description", product.description.clone()),
                    ("brand", product.brand.clone()),
                    ("categoryId", product.category_id.to_string()),
                    ("price", decimal(product.price.amount)),
                    ("currency", product.price.currency.to_string()),
                    ("onHand", on_hand.to_string()),
                ])?;
            }
            out.flush()?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------

const STATE_MAGIC: &str = "storefront-import-state 1";

/// The rows of one input already imported: `<input>.import-state`, a
/// header (format, API) and then one line per imported row, `<line>
/// <digest>`, appended as each row is accepted.
struct Checkpoint {
    path: PathBuf,
    done: HashSet<String>,
    file: std::fs::File,
}

impl Checkpoint {
    fn open(input: &Path, api: &str, resume: bool, notes: &mut Vec<String>) -> anyhow::Result<Self> {
        let path = checkpoint_path(input);
        let header = format!("{STATE_MAGIC}\napi {api}\n");
        let shown = path.display();
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading the checkpoint {shown}")),
        };
        let mut done = HashSet::new();
        match (resume, existing) {
            (true, Some(text)) => {
                let Some(rows) = text.strip_prefix(&header) else {
                    let first_lines: Vec<&str> = text.lines().take(2).collect();
                    if first_lines.first() != Some(&STATE_MAGIC) {
                        bail!("{shown} is not an import checkpoint; move it away, or run without --resume");
                    }
                    bail!(
                        "the checkpoint {shown} is of an import into {}, not {api}; run without --resume to start over",
                        first_lines
                            .get(1)
                            .and_then(|l| l.strip_prefix("api "))
                            .unwrap_or("another API"),
                    );
                };
                // A torn last line (a crash mid-write) is simply not done.
                done.extend(
                    rows.lines()
                        .filter_map(|l| l.split_once(' ').map(|(_, digest)| digest))
                        .filter(|d| d.len() == 32)
                        .map(str::to_owned),
                );
                notes.push(format!("resuming from {shown}: {} rows imported before", done.len()));
                let file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("opening {shown}"))?;
                return Ok(Self { path, done, file });
            }
            (true, None) => notes.push(format!("no checkpoint {shown} yet: starting from the first row")),
            (false, Some(_)) => notes.push(format!(
                "ignoring the checkpoint {shown} of an earlier import and starting over (--resume continues from it)"
            )),
            (false, None) => {}
        }
        let mut file = std::fs::File::create(&path).with_context(|| format!("creating {shown}"))?;
        file.write_all(header.as_bytes())
            .with_context(|| format!("writing {shown}"))?;
        Ok(Self { path, done, file })
    }

    /// Records a row as imported. One write per row, not buffered, so that
    /// a crash of this process loses nothing already accepted.
    fn mark(&mut self, line: u64, digest: &str) -> anyhow::Result<()> {
        self.file
            .write_all(format!("{line} {digest}\n").as_bytes())
            .with_context(|| format!("writing the checkpoint {}", self.path.display()))
    }
}

// ---------------------------------------------------------------------------
// The import
// ---------------------------------------------------------------------------

struct Source {
    name: String,
    checkpoint: Option<Checkpoint>,
}

struct Row {
    source: usize,
    line: u64,
    record: Record,
    digest: String,
}

/// What the API made of one row.
enum Outcome {
    Imported,
    Refused(String),
    /// Nothing later can succeed either: the token is refused, or the API
    /// does not answer.
    Fatal(String),
}

fn describe(answer: &Answer) -> String {
    let mut text = answer.status.to_string();
    match answer.problem() {
        Some(problem) => text.push_str(&format!(": {problem}")),
        None if !answer.body.is_null() => text.push_str(&format!(": {}", show(&answer.body))),
        None => {}
    }
    text
}

async fn send_row(api: &ApiClient, record: &Record) -> Outcome {
    for (step, (path, body)) in record.requests().into_iter().enumerate() {
        let answer = match api.send(Method::PUT, &path, Some(&body), &[]).await {
            Ok(answer) => answer,
            Err(e) => return Outcome::Fatal(format!("the API does not answer: {e}")),
        };
        let status = answer.status;
        if status.is_success() {
            continue;
        }
        let what = describe(&answer);
        return match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Outcome::Fatal(format!(
                "PUT {path}: the API refused the token ({what}); it needs an unexpired ID token of a user in the admin group"
            )),
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Outcome::Fatal(format!(
                "PUT {path}: {what}, after {} tries; try again later, or with a lower --concurrency",
                answer.attempts
            )),
            _ if step > 0 => Outcome::Refused(format!("the product was saved, but the API refused its stock: {what}")),
            _ => Outcome::Refused(format!("the API refused it: {what}")),
        };
    }
    Outcome::Imported
}

/// The shop's categories before the import: id → parent.
async fn shop_categories(api: &ApiClient) -> anyhow::Result<HashMap<CategoryId, Option<CategoryId>>> {
    let tree: Value = api.get_json("/categories").await.with_context(|| {
        format!(
            "reading the shop's categories from {} (is it the API's URL, with its stage, e.g. https://…/prod?)",
            api.base_url()
        )
    })?;
    fn walk(nodes: &Value, parent: Option<&CategoryId>, into: &mut HashMap<CategoryId, Option<CategoryId>>) {
        for node in nodes.as_array().into_iter().flatten() {
            if let Some(id) = node["categoryId"].as_str().and_then(|id| CategoryId::parse(id).ok()) {
                walk(&node["children"], Some(&id), into);
                into.insert(id, parent.cloned());
            }
        }
    }
    let mut categories = HashMap::new();
    walk(&tree["categories"], None, &mut categories);
    Ok(categories)
}

/// The import under way: its sources, rows and report.
struct Run {
    sources: Vec<Source>,
    report: Report,
    bar: ProgressBar,
    progress: bool,
    /// Print bad rows as they come (while sending); before, they are
    /// printed together in line order once every row is checked.
    live: bool,
}

impl Run {
    fn bad(&mut self, source: usize, line: u64, reason: String) {
        let bad = BadRow {
            file: self.sources[source].name.clone(),
            line,
            reason,
        };
        if self.progress && self.live {
            self.bar.suspend(|| eprintln!("{bad}"));
        }
        self.report.bad.push(bad);
    }

    /// Sorts the bad rows by input (in command-line order) and line.
    fn sort_bad(&mut self) {
        let order: HashMap<&str, usize> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut bad = std::mem::take(&mut self.report.bad);
        bad.sort_by_key(|b| (order.get(b.file.as_str()).copied(), b.line));
        self.report.bad = bad;
    }

    fn note(&mut self, note: String) {
        if self.progress {
            self.bar.suspend(|| eprintln!("{note}"));
        }
        self.report.notes.push(note);
    }
}

/// Runs an import. `Err` only if it could not start (an unreadable file,
/// an API that does not answer, a checkpoint of another import); bad rows
/// and a stop half-way are in the [`Report`].
pub async fn run(options: ImportOptions) -> anyhow::Result<Report> {
    if options.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if options.inputs.is_empty() {
        bail!("nothing to import: name files, or --demo");
    }
    let api = options.api.clone();
    let requests_before = api.requests_sent();
    let bar = if options.progress {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("importing {bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
            .context("progress template")?,
    );
    let mut run = Run {
        sources: Vec::new(),
        report: Report::default(),
        bar,
        progress: options.progress,
        live: false,
    };

    // Read and check every row of every input.
    let mut parsed: Vec<(usize, Parsed)> = Vec::new();
    for input in &options.inputs {
        let (name, bytes, format, checkpoint) = match input {
            Input::File(path) => {
                let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let format = options.format.or_else(|| Format::of_path(path)).with_context(|| {
                    format!(
                        "cannot tell the format of {} from its name: use .jsonl, .ndjson or .csv, or --format",
                        path.display()
                    )
                })?;
                let mut notes = Vec::new();
                let checkpoint = Checkpoint::open(path, api.base_url(), options.resume, &mut notes)?;
                for note in notes {
                    run.note(note);
                }
                (path.display().to_string(), bytes, format, Some(checkpoint))
            }
            Input::Stdin => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).context("reading stdin")?;
                ("-".to_owned(), bytes, options.format.unwrap_or(Format::Jsonl), None)
            }
            Input::Demo { products } => {
                let mut bytes = Vec::new();
                write_demo_catalog(*products, Format::Jsonl, &mut bytes)?;
                ("demo".to_owned(), bytes, Format::Jsonl, None)
            }
        };
        if options.resume && checkpoint.is_none() {
            run.note(format!("{name} keeps no checkpoint: every row of it is sent"));
        }
        let index = run.sources.len();
        run.sources.push(Source { name, checkpoint });
        let rows = match format {
            Format::Jsonl => parse_jsonl(&bytes),
            Format::Csv => parse_csv(&bytes),
        };
        parsed.extend(rows.into_iter().map(|row| (index, row)));
    }
    let mut rows = Vec::new();
    for (source, (line, record)) in parsed {
        match record {
            Ok(record) => {
                let digest = record.digest();
                rows.push(Row {
                    source,
                    line,
                    record,
                    digest,
                });
            }
            Err(reason) => run.bad(source, line, reason),
        }
    }
    let shop = shop_categories(&api).await?;
    let rows = check_together(&mut run, rows, &shop);
    run.sort_bad();
    if run.progress {
        for bad in &run.report.bad {
            eprintln!("{bad}");
        }
    }
    run.live = true;

    // Skip what a checkpoint says is done, then send, in three phases.
    let mut todo = Vec::new();
    for row in rows {
        let done = run.sources[row.source]
            .checkpoint
            .as_ref()
            .is_some_and(|c| c.done.contains(&row.digest));
        if done {
            run.report.skipped += 1;
        } else {
            todo.push(row);
        }
    }
    if run.report.skipped > 0 {
        let note = format!("skipping {} rows imported before", run.report.skipped);
        run.note(note);
    }
    run.bar.set_length(todo.len() as u64);
    let phases = phases(todo);
    let sender = Sender {
        api: &api,
        concurrency: options.concurrency,
        stop_after: options.stop_after,
        interrupt: options.interrupt.clone(),
        sent: Arc::default(),
    };
    for phase in phases {
        if let Some(stopped) = sender.send(&mut run, phase).await {
            run.report.stopped = Some(stopped);
            break;
        }
    }
    run.bar.finish_and_clear();
    run.report.rows_sent = sender.sent.load(Ordering::Relaxed);
    run.report.requests = api.requests_sent() - requests_before;
    run.sort_bad();
    Ok(run.report)
}

/// The checks that need every row: one row per category, product and
/// product stock; parents that exist (in the import or the shop) without
/// loops; products in categories that exist and are leaves.
fn check_together(run: &mut Run, rows: Vec<Row>, shop: &HashMap<CategoryId, Option<CategoryId>>) -> Vec<Row> {
    // Duplicates: the second row of the same thing is refused.
    let mut seen: HashMap<String, (usize, u64)> = HashMap::new();
    let mut unique = Vec::new();
    for row in rows {
        // What the row sets: a category, a product, a product's stock.
        let mut keys = Vec::new();
        match &row.record {
            Record::Category { id, .. } => keys.push(format!("category {id}")),
            Record::Product { id, on_hand, .. } => {
                keys.push(format!("product {id}"));
                if on_hand.is_some() {
                    keys.push(format!("the stock of {id}"));
                }
            }
            Record::Stock { product, .. } => keys.push(format!("the stock of {product}")),
        }
        let clash = keys.iter().find_map(|key| seen.get(key).map(|at| (key, *at)));
        if let Some((key, (source, line))) = clash {
            let reason = format!(
                "{key} is already set on {}:{line}; one row each",
                run.sources[source].name
            );
            run.bad(row.source, row.line, reason);
            continue;
        }
        for key in keys {
            seen.insert(key, (row.source, row.line));
        }
        unique.push(row);
    }

    // Categories whose parent is unknown, or which form a loop, are refused
    // (and then so are their children).
    let mut parents: HashMap<CategoryId, Option<CategoryId>> = shop.clone();
    let mut imported: BTreeMap<CategoryId, Option<CategoryId>> = BTreeMap::new();
    for row in &unique {
        if let Record::Category { id, draft } = &row.record {
            imported.insert(id.clone(), draft.parent_id.clone());
        }
    }
    let mut refused: BTreeMap<CategoryId, String> = BTreeMap::new();
    for (id, parent) in &imported {
        let mut at = parent.clone();
        let mut path = vec![id.clone()];
        while let Some(p) = at {
            if &p == id {
                let names: Vec<&str> = path.iter().map(CategoryId::as_str).collect();
                refused.insert(id.clone(), format!("parentId: {} → {id} is a loop", names.join(" → ")));
                break;
            }
            if path.len() > imported.len() {
                break;
            }
            path.push(p.clone());
            at = imported.get(&p).cloned().flatten();
        }
    }
    loop {
        let mut changed = false;
        for (id, parent) in &imported {
            if refused.contains_key(id) {
                continue;
            }
            if let Some(parent) = parent {
                let known =
                    (imported.contains_key(parent) && !refused.contains_key(parent)) || shop.contains_key(parent);
                if !known {
                    let reason = if imported.contains_key(parent) {
                        format!("parentId: its parent {parent} is refused (see its row)")
                    } else {
                        format!("parentId: no category {parent} in the import or in the shop")
                    };
                    refused.insert(id.clone(), reason);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for (id, parent) in &imported {
        if !refused.contains_key(id) {
            // The import cannot move a category; the API says so if it tries.
            parents.entry(id.clone()).or_insert_with(|| parent.clone());
        }
    }
    let mut children: HashMap<&CategoryId, BTreeSet<&CategoryId>> = HashMap::new();
    for (id, parent) in &parents {
        if let Some(parent) = parent {
            children.entry(parent).or_default().insert(id);
        }
    }

    let mut checked = Vec::new();
    for row in unique {
        let reason = match &row.record {
            Record::Category { id, .. } => refused.get(id).cloned(),
            Record::Product { draft, .. } => {
                let category = &draft.category_id;
                match children.get(category) {
                    _ if !parents.contains_key(category) => Some(if imported.contains_key(category) {
                        format!("categoryId: the category {category} is refused (see its row)")
                    } else {
                        format!("categoryId: no category {category} in the import or in the shop")
                    }),
                    Some(below) => {
                        let more = if below.len() > 3 { ", …" } else { "" };
                        let below: Vec<&str> = below.iter().take(3).map(|c| c.as_str()).collect();
                        Some(format!(
                            "categoryId: {category} has subcategories ({}{more}); products go into leaf categories",
                            below.join(", "),
                        ))
                    }
                    None => None,
                }
            }
            Record::Stock { .. } => None,
        };
        match reason {
            Some(reason) => run.bad(row.source, row.line, reason),
            None => checked.push(row),
        }
    }
    checked
}

/// The rows in the order they must go: categories level by level (a
/// parent's level before its children's), then products, then stock rows.
/// Rows within a phase go concurrently.
fn phases(rows: Vec<Row>) -> Vec<Vec<Row>> {
    let parents: HashMap<CategoryId, Option<CategoryId>> = rows
        .iter()
        .filter_map(|row| match &row.record {
            Record::Category { id, draft } => Some((id.clone(), draft.parent_id.clone())),
            _ => None,
        })
        .collect();
    let depth = |id: &CategoryId| {
        let mut depth = 0;
        let mut at = parents.get(id).cloned().flatten();
        while let Some(parent) = at {
            if !parents.contains_key(&parent) || depth > parents.len() {
                break;
            }
            depth += 1;
            at = parents.get(&parent).cloned().flatten();
        }
        depth
    };
    let mut levels: BTreeMap<usize, Vec<Row>> = BTreeMap::new();
    let mut products = Vec::new();
    let mut stock = Vec::new();
    for row in rows {
        match &row.record {
            Record::Category { id, .. } => levels.entry(depth(id)).or_default().push(row),
            Record::Product { .. } => products.push(row),
            Record::Stock { .. } => stock.push(row),
        }
    }
    let mut phases: Vec<Vec<Row>> = levels.into_values().collect();
    phases.push(products);
    phases.push(stock);
    phases.retain(|p| !p.is_empty());
    phases
}

struct Sender<'a> {
    api: &'a ApiClient,
    concurrency: usize,
    stop_after: Option<usize>,
    interrupt: Option<watch::Receiver<bool>>,
    sent: Arc<AtomicUsize>,
}

impl Sender<'_> {
    /// Sends one phase's rows, `concurrency` at a time, recording each
    /// imported row in its checkpoint. Returns why it stopped early, if it
    /// did; the requests then in flight are abandoned.
    async fn send(&self, run: &mut Run, rows: Vec<Row>) -> Option<Stopped> {
        let api = self.api;
        let sent = &self.sent;
        let mut results = futures::stream::iter(rows.into_iter().map(|row| async move {
            sent.fetch_add(1, Ordering::Relaxed);
            let outcome = send_row(api, &row.record).await;
            (row, outcome)
        }))
        .buffer_unordered(self.concurrency);
        let interrupt = self.interrupt.clone();
        let interrupted = async move {
            if let Some(mut rx) = interrupt
                && rx.wait_for(|stop| *stop).await.is_ok()
            {
                return;
            }
            // No interrupt, or nobody left to send one.
            std::future::pending::<()>().await;
        };
        tokio::pin!(interrupted);
        loop {
            let next = tokio::select! {
                next = results.next() => next,
                () = &mut interrupted => return Some(Stopped::Interrupted),
            };
            // The phase is over when every row has an outcome.
            let (row, outcome) = next?;
            match outcome {
                Outcome::Imported => {
                    if let Some(checkpoint) = &mut run.sources[row.source].checkpoint
                        && let Err(e) = checkpoint.mark(row.line, &row.digest)
                    {
                        return Some(Stopped::Failed(format!("{e:#}")));
                    }
                    run.report.imported += 1;
                    run.bar.inc(1);
                    if self.stop_after.is_some_and(|n| run.report.imported >= n) {
                        return Some(Stopped::Interrupted);
                    }
                }
                Outcome::Refused(reason) => {
                    run.bad(row.source, row.line, reason);
                    run.bar.inc(1);
                }
                Outcome::Fatal(reason) => return Some(Stopped::Failed(reason)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Record, String> {
        let rows = parse_jsonl(line.as_bytes());
        assert_eq!(rows.len(), 1);
        rows.into_iter().next().unwrap().1
    }

    #[test]
    fn decimal_prices_become_cents() {
        assert_eq!(parse_decimal("19.99"), Ok(1999));
        assert_eq!(parse_decimal("19.9"), Ok(1990));
        assert_eq!(parse_decimal(" 20 "), Ok(2000));
        assert_eq!(parse_decimal("-5.00"), Ok(-500));
        for bad in ["$19.99", "1,299.00", "19.999", "", ".5", "abc", "1e3"] {
            assert!(parse_decimal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_product_line_reads_as_the_api_body_and_its_stock() {
        let record = one(
            r#"{"kind":"product","id":"G1","title":"Spade","brand":"Acme","categoryId":"garden-tools","price":"19.99","onHand":5}"#,
        )
        .unwrap();
        let requests = record.requests();
        assert_eq!(requests[0].0, "/admin/products/G1");
        assert_eq!(
            requests[0].1,
            json!({"title":"Spade","description":"","brand":"Acme","categoryId":"garden-tools","price":{"amount":1999,"currency":"USD"}})
        );
        assert_eq!(requests[1], ("/admin/products/G1/stock".into(), json!({"onHand": 5})));
    }

    #[test]
    fn every_problem_of_a_row_is_named() {
        let reason = one(r#"{"kind":"product","id":"bad id","title":7,"categoryId":"x","price":12,"colour":"red"}"#)
            .unwrap_err();
        for part in [
            "title: must be a string",
            "brand: missing",
            "price: must be",
            "colour: not a field",
        ] {
            assert!(reason.contains(part), "{reason}");
        }
        let reason = one(r#"{"kind":"stock","productId":"P1","onHand":-1}"#).unwrap_err();
        assert!(reason.contains("onHand: must be between 0 and"), "{reason}");
        assert!(one(r#"{"kind":"shelf"}"#).unwrap_err().contains("kind: \"shelf\""));
        assert!(one("{oops").unwrap_err().starts_with("not valid JSON"));
    }

    #[test]
    fn csv_line_numbers_count_the_header_and_quoted_newlines() {
        let csv = "id,name,parentId\ngarden,Garden,\n\"tools\",\"Garden\ntools\",garden\nBAD,Bad,\n";
        let rows = parse_csv(csv.as_bytes());
        let lines: Vec<u64> = rows.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert!(rows[2].1.as_ref().unwrap_err().contains("id: a category id"));
    }

    #[test]
    fn a_csv_header_is_forgiving_about_case_and_separators() {
        let csv = "\u{feff}Product ID,on_hand\nP1,4\n";
        let rows = parse_csv(csv.as_bytes());
        assert_eq!(
            rows[0].1,
            Ok(Record::Stock {
                product: ProductId::parse("P1").unwrap(),
                on_hand: OnHand::parse(4).unwrap(),
                shards: None
            })
        );
        let rows = parse_csv(b"id,title,colour\n");
        assert!(rows[0].1.as_ref().unwrap_err().contains("unknown column \"colour\""));
    }

    #[test]
    fn the_demo_catalog_reads_back_the_same_in_both_formats() {
        let mut jsonl = Vec::new();
        write_demo_catalog(30, Format::Jsonl, &mut jsonl).unwrap();
        let mut csv = Vec::new();
        write_demo_catalog(30, Format::Csv, &mut csv).unwrap();
        let from_jsonl: Vec<Record> = parse_jsonl(&jsonl).into_iter().map(|(_, r)| r.unwrap()).collect();
        let from_csv: Vec<Record> = parse_csv(&csv).into_iter().map(|(_, r)| r.unwrap()).collect();
        assert_eq!(from_jsonl.len(), seed::categories().len() + 30);
        assert_eq!(from_jsonl, from_csv);
        let (product, on_hand) = seed::product(7);
        assert!(from_jsonl.contains(&Record::Product {
            id: product.id.clone(),
            draft: ProductDraft {
                title: product.title,
                description: product.description,
                brand: product.brand,
                category_id: product.category_id,
                price: product.price,
            },
            on_hand: Some(OnHand::parse(on_hand).unwrap()),
        }));
    }

    #[test]
    fn the_checkpoint_sits_beside_its_input() {
        assert_eq!(
            checkpoint_path(Path::new("data/catalog.jsonl")),
            Path::new("data/catalog.jsonl.import-state")
        );
    }
}
