//! The catalog in DynamoDB: products, their stock shards and the category tree.

use super::keys::{self, CATEGORY_KEY, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, Transacted, correlation, n, retry_lost_races, s};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shop_domain::catalog::{BrowseSort, Category, CategoryDraft, Product, ProductDraft, Rating};
use shop_domain::ids::{CategoryId, ProductId};
use shop_domain::money::{Currency, Money};
use shop_domain::stock::{self, OnHand, ShardCount, StockError, StockLevel, StockShard};
use shop_domain::time::{self as clock};
use std::collections::BTreeMap;
use std::future::Future;

/// Reads one product with its stock (`GET /products/{productId}`).
pub trait ProductReader {
    fn product_with_stock(
        &self,
        id: &ProductId,
    ) -> impl Future<Output = Result<Option<(Product, StockLevel)>, StoreError>> + Send;
}

/// Reads the category tree (`GET /categories`).
pub trait CategoryReader {
    fn categories(&self) -> impl Future<Output = Result<Vec<Category>, StoreError>> + Send;
}

/// Lists a category's products in a chosen order, a page at a time.
pub trait CategoryBrowser {
    fn browse(
        &self,
        leaves: &[CategoryId],
        sort: BrowseSort,
        limit: u32,
        cursor: Option<&BrowseCursor>,
    ) -> impl Future<Output = Result<BrowsePage, StoreError>> + Send;
}

/// Lists every product's id, one parallel scan segment a page at a time
/// (rebuilding the search index from the table). Reads the sparse
/// `ByCategoryPrice` index, which holds product items only, so the scan
/// pays for no stock, cart or order item.
pub trait ProductScanner {
    fn product_ids(
        &self,
        segment: ScanSegment,
        cursor: Option<&ScanCursor>,
        limit: u32,
    ) -> impl Future<Output = Result<ProductIdPage, StoreError>> + Send;
}

/// One of `total` parallel scan segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanSegment {
    pub segment: u32,
    pub total: u32,
}

impl ScanSegment {
    /// The most segments DynamoDB allows in one parallel scan.
    pub const MAX_TOTAL: u32 = 1_000_000;

    /// Segment `segment` of `total`, if DynamoDB accepts that split.
    pub fn new(segment: u32, total: u32) -> Option<Self> {
        ((1..=Self::MAX_TOTAL).contains(&total) && segment < total).then_some(Self { segment, total })
    }

    /// All `total` segments.
    pub fn all(total: u32) -> impl Iterator<Item = Self> {
        (0..total).filter_map(move |segment| Self::new(segment, total))
    }
}

/// Where a segment's scan goes on: DynamoDB's last evaluated key, as text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanCursor(BTreeMap<String, String>);

/// A page of product ids, and where the next starts (none: the segment is done).
#[derive(Debug)]
pub struct ProductIdPage {
    pub ids: Vec<ProductId>,
    pub next: Option<ScanCursor>,
}

/// Creates and updates products (`PUT /admin/products/{productId}`).
pub trait ProductWriter {
    fn put_product(
        &self,
        id: &ProductId,
        draft: &ProductDraft,
    ) -> impl Future<Output = Result<PutProduct, PutProductError>> + Send;
}

/// Sets a product's stock on hand and, optionally, how many shard items it
/// is split over (`PUT /admin/products/{productId}/stock`).
pub trait StockWriter {
    fn set_stock(
        &self,
        id: &ProductId,
        on_hand: OnHand,
        shards: Option<ShardCount>,
    ) -> impl Future<Output = Result<SetStock, SetStockError>> + Send;
}

/// A product's stock after an administrator set it.
#[derive(Debug)]
pub struct SetStock {
    pub level: StockLevel,
    /// The shard count now in force.
    pub shards: u8,
    /// Shard items beyond the count kept because they still back cart lines.
    pub draining: usize,
}

#[derive(Debug)]
pub struct PutProduct {
    pub product: Product,
    pub stock: StockLevel,
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PutProductError {
    #[error("category {0} does not exist or has subcategories (products go into leaf categories)")]
    NotALeafCategory(CategoryId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates or renames a category (`PUT /admin/categories/{categoryId}`).
pub trait CategoryWriter {
    fn put_category(
        &self,
        id: &CategoryId,
        draft: &CategoryDraft,
    ) -> impl Future<Output = Result<PutCategory, PutCategoryError>> + Send;
}

/// A category after an administrator wrote it.
#[derive(Debug)]
pub struct PutCategory {
    pub category: Category,
    /// Whether products can go in it (no subcategories).
    pub is_leaf: bool,
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PutCategoryError {
    #[error("parent category {0} does not exist")]
    UnknownParent(CategoryId),
    #[error(
        "category {0} holds products, and products stay in leaf categories: move them out before it gets subcategories"
    )]
    ParentHoldsProducts(CategoryId),
    #[error("category {id} sits under {}; a category cannot be moved", .current.as_ref().map_or("the top level", |p| p.as_str()))]
    CannotMove {
        id: CategoryId,
        current: Option<CategoryId>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum SetStockError {
    #[error("product {0} does not exist")]
    UnknownProduct(ProductId),
    #[error(transparent)]
    Refused(#[from] StockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the next page of a browse starts: for each leaf category, the sort key
/// of the last product shown (absent: not started; `None`: exhausted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrowseCursor {
    sort: String,
    after: BTreeMap<String, Option<String>>,
}

impl BrowseCursor {
    /// An opaque URL-safe token.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a cursor serialises"))
    }

    /// Reads a token back; it must belong to the same listing.
    pub fn decode(token: &str, sort: BrowseSort, leaves: &[CategoryId]) -> Result<Self, String> {
        let bad = || "is not a page token from this listing".to_owned();
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let known = cursor.after.keys().all(|k| leaves.iter().any(|l| l.as_str() == k));
        if cursor.sort != sort.as_str() || !known {
            return Err(bad());
        }
        Ok(cursor)
    }
}

#[derive(Debug)]
pub struct BrowsePage {
    pub products: Vec<Product>,
    pub next: Option<BrowseCursor>,
}

/// The product item, with the browse index keys derived from it.
/// It carries the current correlation id, which the relay hands on.
pub fn product_item(p: &Product) -> Item {
    let created = clock::format(p.created_at);
    correlation::stamp_item(Item::from([
        (PK.into(), s(keys::product_pk(&p.id))),
        (SK.into(), s(keys::PRODUCT_SK)),
        ("entity".into(), s("Product")),
        ("productId".into(), s(p.id.as_str())),
        ("title".into(), s(&p.title)),
        ("description".into(), s(&p.description)),
        ("brand".into(), s(&p.brand)),
        ("categoryId".into(), s(p.category_id.as_str())),
        ("priceAmount".into(), n(p.price.amount)),
        ("currency".into(), s(p.price.currency.as_str())),
        ("ratingTenths".into(), n(p.rating.tenths())),
        ("reviewCount".into(), n(p.review_count)),
        ("stockShards".into(), n(p.stock_shards)),
        ("createdAt".into(), s(&created)),
        ("updatedAt".into(), s(clock::format(p.updated_at))),
        ("version".into(), n(p.version)),
        (CATEGORY_KEY.into(), s(p.category_id.as_str())),
        (
            keys::BY_CATEGORY_PRICE.1.into(),
            s(keys::price_key(p.price.amount, &p.id)),
        ),
        (
            keys::BY_CATEGORY_RATING.1.into(),
            s(keys::rating_key(p.rating.tenths(), p.review_count, &p.id)),
        ),
        (keys::BY_CATEGORY_NEWEST.1.into(), s(keys::newest_key(&created, &p.id))),
    ]))
}

pub fn product_from_item(item: &Item) -> Result<Product, StoreError> {
    let a = Attrs::new(item);
    Ok(Product {
        id: a.parsed("productId", |v| ProductId::parse(v))?,
        title: a.s("title")?.to_owned(),
        description: a.opt_s("description").unwrap_or_default().to_owned(),
        brand: a.s("brand")?.to_owned(),
        category_id: a.parsed("categoryId", |v| CategoryId::parse(v))?,
        price: Money::new(a.n("priceAmount")?, a.parsed("currency", Currency::parse)?),
        rating: Rating::from_tenths(a.n("ratingTenths")?).map_err(|e| a.corrupt(e))?,
        review_count: a.n("reviewCount")?,
        stock_shards: a.n("stockShards")?,
        created_at: a.parsed("createdAt", clock::parse)?,
        updated_at: a.parsed("updatedAt", clock::parse)?,
        version: a.n("version")?,
    })
}

/// A stock shard's item, with the current correlation id.
pub fn stock_item(id: &ProductId, shard: &StockShard) -> Item {
    correlation::stamp_item(Item::from([
        (PK.into(), s(keys::product_pk(id))),
        (SK.into(), s(keys::stock_sk(shard.shard))),
        ("entity".into(), s("Stock")),
        ("productId".into(), s(id.as_str())),
        ("shard".into(), n(shard.shard)),
        ("onHand".into(), n(shard.on_hand)),
        ("available".into(), n(shard.available)),
        ("reserved".into(), n(shard.reserved)),
        ("sold".into(), n(shard.sold)),
        ("version".into(), n(shard.version)),
        ("moves".into(), n(shard.moves)),
    ]))
}

pub fn stock_from_item(item: &Item) -> Result<StockShard, StoreError> {
    let a = Attrs::new(item);
    Ok(StockShard {
        shard: a.n("shard")?,
        on_hand: a.n("onHand")?,
        available: a.n("available")?,
        reserved: a.n("reserved")?,
        sold: a.n("sold")?,
        version: a.n("version")?,
        // Absent on shards written before the audit counted moves; `ADD` starts it.
        moves: a.n("moves").unwrap_or(0),
    })
}

pub fn category_item(c: &Category, is_leaf: bool) -> Item {
    let mut item = Item::from([
        (PK.into(), s(keys::CATALOG_PK)),
        (SK.into(), s(keys::category_sk(&c.id))),
        ("entity".into(), s("Category")),
        ("categoryId".into(), s(c.id.as_str())),
        ("name".into(), s(&c.name)),
        ("isLeaf".into(), AttributeValue::Bool(is_leaf)),
        ("productCount".into(), n(c.product_count)),
    ]);
    if let Some(parent) = &c.parent_id {
        item.insert("parentId".into(), s(parent.as_str()));
    }
    item
}

fn category_from_item(item: &Item) -> Result<Category, StoreError> {
    let a = Attrs::new(item);
    Ok(Category {
        id: a.parsed("categoryId", |v| CategoryId::parse(v))?,
        name: a.s("name")?.to_owned(),
        parent_id: a
            .opt_s("parentId")
            .map(CategoryId::parse)
            .transpose()
            .map_err(|e| a.corrupt(e))?,
        product_count: a.n("productCount")?,
    })
}

impl DynamoStore {
    /// The product item and its stock shards: one query on the product's partition.
    pub async fn product_partition(&self, id: &ProductId) -> Result<Option<(Product, Vec<StockShard>)>, StoreError> {
        let mut product = None;
        let mut shards = Vec::new();
        for item in &self.partition(keys::product_pk(id)).await? {
            match Attrs::new(item).opt_s(SK) {
                Some(keys::PRODUCT_SK) => product = Some(product_from_item(item)?),
                Some(sk) if sk.starts_with(keys::STOCK_SK_PREFIX) => shards.push(stock_from_item(item)?),
                _ => {}
            }
        }
        Ok(product.map(|p| (p, shards)))
    }

    /// An update of the category item `id`, its expressions still to set.
    fn category_update(&self, id: &CategoryId) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key(PK, s(keys::CATALOG_PK))
            .key(SK, s(keys::category_sk(id)))
    }

    fn category_count_update(&self, category: &CategoryId, delta: i64, require_leaf: bool) -> TransactWriteItem {
        let mut update = self
            .category_update(category)
            .update_expression("ADD productCount :delta")
            .expression_attribute_values(":delta", n(delta));
        if require_leaf {
            update = update
                .condition_expression("attribute_exists(pk) AND isLeaf = :leaf")
                .expression_attribute_values(":leaf", AttributeValue::Bool(true));
        }
        TransactWriteItem::builder()
            .update(update.build().expect("key and expression are set"))
            .build()
    }

    async fn try_put_product(
        &self,
        id: &ProductId,
        draft: &ProductDraft,
    ) -> Result<Option<PutProduct>, PutProductError> {
        let existing = self.product_partition(id).await?;
        let now = self.clock.now();
        let (product, shards, created) = match &existing {
            Some((old, shards)) => (
                Product {
                    title: draft.title.clone(),
                    description: draft.description.clone(),
                    brand: draft.brand.clone(),
                    category_id: draft.category_id.clone(),
                    price: draft.price,
                    updated_at: now,
                    version: old.version + 1,
                    ..old.clone()
                },
                shards.clone(),
                false,
            ),
            None => (
                Product {
                    id: id.clone(),
                    title: draft.title.clone(),
                    description: draft.description.clone(),
                    brand: draft.brand.clone(),
                    category_id: draft.category_id.clone(),
                    price: draft.price,
                    rating: Rating::default(),
                    review_count: 0,
                    stock_shards: 1,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                },
                vec![StockShard::empty(0)],
                true,
            ),
        };

        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(product_item(&product)));
        put = match &existing {
            Some((old, _)) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(old.version)),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        let mut actions = vec![
            TransactWriteItem::builder()
                .put(put.build().expect("item is set"))
                .build(),
        ];
        // The category action comes second; its index tells a bad category
        // apart from a lost race on the product.
        let old_category = existing.as_ref().map(|(old, _)| &old.category_id);
        if old_category == Some(&product.category_id) {
            actions.push(
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.table)
                            .key(PK, s(keys::CATALOG_PK))
                            .key(SK, s(keys::category_sk(&product.category_id)))
                            .condition_expression("attribute_exists(pk) AND isLeaf = :leaf")
                            .expression_attribute_values(":leaf", AttributeValue::Bool(true))
                            .build()
                            .expect("key and condition are set"),
                    )
                    .build(),
            );
        } else {
            actions.push(self.category_count_update(&product.category_id, 1, true));
            if let Some(old) = old_category {
                actions.push(self.category_count_update(old, -1, false));
            }
        }
        if created {
            for shard in &shards {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(stock_item(id, shard)))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .expect("item is set");
                actions.push(TransactWriteItem::builder().put(put).build());
            }
        }

        match self.transact(actions).await? {
            Transacted::Committed => Ok(Some(PutProduct {
                product,
                stock: StockLevel::of(&shards),
                created,
            })),
            Transacted::Cancelled(failed) if failed.get(1) == Some(&true) => {
                Err(PutProductError::NotALeafCategory(draft.category_id.clone()))
            }
            // Another writer changed the product first, or the transaction
            // conflicted: read again and retry.
            Transacted::Cancelled(_) => Ok(None),
        }
    }

    async fn category_item_of(&self, id: &CategoryId) -> Result<Option<(Category, bool)>, StoreError> {
        let Some(item) = self.get(keys::CATALOG_PK.to_owned(), &keys::category_sk(id)).await? else {
            return Ok(None);
        };
        let is_leaf = matches!(item.get("isLeaf"), Some(AttributeValue::Bool(true)));
        Ok(Some((category_from_item(&item)?, is_leaf)))
    }

    /// One attempt at [`CategoryWriter::put_category`]; `None` after a lost
    /// race. A new category starts as a leaf; its parent stops being one in
    /// the same transaction, only while it still holds no product, so a
    /// product created meanwhile (which needs a leaf) and the new child
    /// cannot both win.
    async fn try_put_category(
        &self,
        id: &CategoryId,
        draft: &CategoryDraft,
    ) -> Result<Option<PutCategory>, PutCategoryError> {
        if let Some((old, is_leaf)) = self.category_item_of(id).await? {
            if old.parent_id != draft.parent_id {
                return Err(PutCategoryError::CannotMove {
                    id: id.clone(),
                    current: old.parent_id,
                });
            }
            let rename = self
                .category_update(id)
                .update_expression("SET #name = :name")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(&draft.name));
            let rename = TransactWriteItem::builder()
                .update(rename.build().expect("key and expression are set"))
                .build();
            return Ok(match self.transact(vec![rename]).await? {
                Transacted::Committed => Some(PutCategory {
                    category: Category {
                        name: draft.name.clone(),
                        ..old
                    },
                    is_leaf,
                    created: false,
                }),
                Transacted::Cancelled(_) => None,
            });
        }

        let category = Category {
            id: id.clone(),
            name: draft.name.clone(),
            parent_id: draft.parent_id.clone(),
            product_count: 0,
        };
        let mut actions = vec![self.put_action(category_item(&category, true), Some("attribute_not_exists(pk)"))];
        if let Some(parent) = &draft.parent_id {
            let (found, parent_is_leaf) = self
                .category_item_of(parent)
                .await?
                .ok_or_else(|| PutCategoryError::UnknownParent(parent.clone()))?;
            if parent_is_leaf && found.product_count > 0 {
                return Err(PutCategoryError::ParentHoldsProducts(parent.clone()));
            }
            let update = self
                .category_update(parent)
                .update_expression("SET isLeaf = :no")
                .condition_expression("attribute_exists(pk) AND (isLeaf = :no OR productCount = :zero)")
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .expression_attribute_values(":zero", n(0));
            actions.push(
                TransactWriteItem::builder()
                    .update(update.build().expect("key and expression are set"))
                    .build(),
            );
        }
        Ok(match self.transact(actions).await? {
            Transacted::Committed => Some(PutCategory {
                category,
                is_leaf: true,
                created: true,
            }),
            // Created meanwhile, or the parent took a product or went: decide again.
            Transacted::Cancelled(_) => None,
        })
    }

    async fn try_set_stock(
        &self,
        id: &ProductId,
        on_hand: OnHand,
        shards: Option<ShardCount>,
    ) -> Result<Option<SetStock>, SetStockError> {
        let (product, existing) = self
            .product_partition(id)
            .await?
            .ok_or_else(|| SetStockError::UnknownProduct(id.clone()))?;
        let current = ShardCount::parse(product.stock_shards.into()).map_err(|problem| StoreError::Corrupt {
            key: keys::product_pk(id),
            problem: format!("stockShards {problem}"),
        })?;
        let count = shards.unwrap_or(current);
        let plan = stock::redistribute(&existing, on_hand, count)?;

        let key = |shard: u8| [(PK, s(keys::product_pk(id))), (SK, s(keys::stock_sk(shard)))];
        // Reservations change `reserved` without touching `version`, so every
        // condition pins all the numbers the plan was built on.
        let unchanged = "version = :version AND reserved = :reserved AND sold = :sold";
        let old = |shard: u8| existing.iter().find(|s| s.shard == shard);
        let mut actions = Vec::new();
        for new in plan.active.iter().chain(&plan.draining) {
            let action = match old(new.shard) {
                Some(old) => {
                    let mut update = correlation::stamp_update(
                        Update::builder().table_name(&self.table),
                        "SET onHand = :onHand, available = :available, sold = :newSold, version = :next \
                         ADD moves :one",
                    )
                    .condition_expression(unchanged)
                    .expression_attribute_values(":onHand", n(new.on_hand))
                    .expression_attribute_values(":available", n(new.available))
                    .expression_attribute_values(":newSold", n(new.sold))
                    .expression_attribute_values(":next", n(new.version))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":version", n(old.version))
                    .expression_attribute_values(":reserved", n(old.reserved))
                    .expression_attribute_values(":sold", n(old.sold));
                    for (name, value) in key(new.shard) {
                        update = update.key(name, value);
                    }
                    TransactWriteItem::builder()
                        .update(update.build().expect("key and expression are set"))
                        .build()
                }
                None => {
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(stock_item(id, new)))
                        .condition_expression("attribute_not_exists(pk)");
                    TransactWriteItem::builder()
                        .put(put.build().expect("item is set"))
                        .build()
                }
            };
            actions.push(action);
        }
        for gone in &plan.removed {
            let mut delete = Delete::builder()
                .table_name(&self.table)
                .condition_expression(unchanged)
                .expression_attribute_values(":version", n(gone.version))
                .expression_attribute_values(":reserved", n(gone.reserved))
                .expression_attribute_values(":sold", n(gone.sold));
            for (name, value) in key(gone.shard) {
                delete = delete.key(name, value);
            }
            actions.push(
                TransactWriteItem::builder()
                    .delete(delete.build().expect("key is set"))
                    .build(),
            );
        }
        if count != current {
            let update = Update::builder()
                .table_name(&self.table)
                .key(PK, s(keys::product_pk(id)))
                .key(SK, s(keys::PRODUCT_SK));
            let update = correlation::stamp_update(update, "SET stockShards = :shards, version = :next")
                .condition_expression("version = :version")
                .expression_attribute_values(":shards", n(count.get()))
                .expression_attribute_values(":next", n(product.version + 1))
                .expression_attribute_values(":version", n(product.version))
                .build()
                .expect("key and expression are set");
            actions.push(TransactWriteItem::builder().update(update).build());
        }

        match self.transact(actions).await? {
            Transacted::Committed => Ok(Some(SetStock {
                level: plan.level(),
                shards: count.get(),
                draining: plan.draining.len(),
            })),
            Transacted::Cancelled(_) => Ok(None),
        }
    }

    /// One leaf category's next products after `after`, in index order.
    async fn browse_leaf(
        &self,
        leaf: &CategoryId,
        sort: BrowseSort,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Vec<(String, Product)>, StoreError> {
        let ((index, sort_attr), forward) = index_for(sort);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#c = :c")
            .expression_attribute_names("#c", CATEGORY_KEY)
            .expression_attribute_values(":c", s(leaf.as_str()))
            .scan_index_forward(forward)
            .limit(limit as i32);
        if let Some(after) = after {
            let id = keys::product_id_of_sort_key(after).ok_or_else(|| StoreError::Corrupt {
                key: after.to_owned(),
                problem: "browse cursor without a product id".into(),
            })?;
            query = query
                .exclusive_start_key(PK, s(keys::product_pk(&id)))
                .exclusive_start_key(SK, s(keys::PRODUCT_SK))
                .exclusive_start_key(CATEGORY_KEY, s(leaf.as_str()))
                .exclusive_start_key(sort_attr, s(after));
        }
        let output = query.send().await.map_err(StoreError::from_sdk)?;
        output
            .items()
            .iter()
            .map(|item| Ok((Attrs::new(item).s(sort_attr)?.to_owned(), product_from_item(item)?)))
            .collect()
    }
}

/// The index serving a sort, and whether it is read in ascending order.
fn index_for(sort: BrowseSort) -> ((&'static str, &'static str), bool) {
    match sort {
        BrowseSort::Rating => (keys::BY_CATEGORY_RATING, false),
        BrowseSort::PriceAsc => (keys::BY_CATEGORY_PRICE, true),
        BrowseSort::PriceDesc => (keys::BY_CATEGORY_PRICE, false),
        BrowseSort::Newest => (keys::BY_CATEGORY_NEWEST, false),
    }
}

impl ProductReader for DynamoStore {
    async fn product_with_stock(&self, id: &ProductId) -> Result<Option<(Product, StockLevel)>, StoreError> {
        Ok(self
            .product_partition(id)
            .await?
            .map(|(p, shards)| (p, StockLevel::of(&shards))))
    }
}

impl ProductScanner for DynamoStore {
    async fn product_ids(
        &self,
        segment: ScanSegment,
        cursor: Option<&ScanCursor>,
        limit: u32,
    ) -> Result<ProductIdPage, StoreError> {
        let start = cursor.map(|c| c.0.iter().map(|(k, v)| (k.clone(), s(v.clone()))).collect());
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .index_name(keys::BY_CATEGORY_PRICE.0)
            .segment(segment.segment as i32)
            .total_segments(segment.total as i32)
            .projection_expression("#pk")
            .expression_attribute_names("#pk", PK)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let ids = output
            .items()
            .iter()
            .filter_map(|item| Attrs::new(item).opt_s(PK).and_then(keys::product_id_of_pk))
            .collect();
        let next = match output.last_evaluated_key {
            Some(key) => Some(ScanCursor(
                key.into_iter()
                    .map(|(name, value)| match value {
                        AttributeValue::S(text) => Ok((name, text)),
                        other => Err(StoreError::Corrupt {
                            key: name,
                            problem: format!("a scan key that is not a string: {other:?}"),
                        }),
                    })
                    .collect::<Result<_, _>>()?,
            )),
            None => None,
        };
        Ok(ProductIdPage { ids, next })
    }
}

impl CategoryReader for DynamoStore {
    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let mut categories = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(keys::CATALOG_PK))
                .expression_attribute_values(":prefix", s(keys::CATEGORY_SK_PREFIX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in output.items() {
                categories.push(category_from_item(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(categories);
            }
        }
    }
}

impl CategoryBrowser for DynamoStore {
    /// Merges the leaves' ordered lists. Each leaf is asked for one more
    /// product than the page holds, which tells whether it has more.
    async fn browse(
        &self,
        leaves: &[CategoryId],
        sort: BrowseSort,
        limit: u32,
        cursor: Option<&BrowseCursor>,
    ) -> Result<BrowsePage, StoreError> {
        let after = |leaf: &CategoryId| cursor.and_then(|c| c.after.get(leaf.as_str()).cloned());
        let open: Vec<&CategoryId> = leaves.iter().filter(|l| after(l) != Some(None)).collect();
        let fetched = futures::future::join_all(open.iter().map(|leaf| {
            let start = after(leaf).flatten();
            async move { self.browse_leaf(leaf, sort, limit + 1, start.as_deref()).await }
        }))
        .await;
        let mut candidates = Vec::new();
        let mut returned = BTreeMap::new();
        for (leaf, result) in open.iter().zip(fetched) {
            let rows = result?;
            returned.insert(leaf.as_str().to_owned(), rows.len());
            candidates.extend(
                rows.into_iter()
                    .map(|(key, product)| (key, leaf.as_str().to_owned(), product)),
            );
        }
        let (_, forward) = index_for(sort);
        candidates.sort_by(|a, b| if forward { a.0.cmp(&b.0) } else { b.0.cmp(&a.0) });
        candidates.truncate(limit as usize);

        let mut next_after: BTreeMap<String, Option<String>> = leaves
            .iter()
            .filter_map(|l| after(l).map(|a| (l.as_str().to_owned(), a)))
            .collect();
        let mut taken: BTreeMap<String, usize> = BTreeMap::new();
        for (key, leaf, _) in &candidates {
            next_after.insert(leaf.clone(), Some(key.clone()));
            *taken.entry(leaf.clone()).or_default() += 1;
        }
        for (leaf, count) in &returned {
            // A leaf that returned no more than a page and had all of it shown is done.
            if *count <= limit as usize && taken.get(leaf).copied().unwrap_or(0) == *count {
                next_after.insert(leaf.clone(), None);
            }
        }
        let has_more = leaves.iter().any(|l| next_after.get(l.as_str()) != Some(&None));
        Ok(BrowsePage {
            products: candidates.into_iter().map(|(_, _, p)| p).collect(),
            next: has_more.then(|| BrowseCursor {
                sort: sort.as_str().to_owned(),
                after: next_after,
            }),
        })
    }
}

impl ProductWriter for DynamoStore {
    async fn put_product(&self, id: &ProductId, draft: &ProductDraft) -> Result<PutProduct, PutProductError> {
        retry_lost_races(|| self.try_put_product(id, draft)).await
    }
}

impl CategoryWriter for DynamoStore {
    async fn put_category(&self, id: &CategoryId, draft: &CategoryDraft) -> Result<PutCategory, PutCategoryError> {
        retry_lost_races(|| self.try_put_category(id, draft)).await
    }
}

impl StockWriter for DynamoStore {
    async fn set_stock(
        &self,
        id: &ProductId,
        on_hand: OnHand,
        shards: Option<ShardCount>,
    ) -> Result<SetStock, SetStockError> {
        retry_lost_races(|| self.try_set_stock(id, on_hand, shards)).await
    }
}
