//! The catalog: products, categories and the rules for changing them.

use crate::ids::{CategoryId, ProductId};
use crate::money::{Currency, Money};
use crate::stock::StockLevel;
use crate::time::Timestamp;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};

/// The shop sells in one currency; prices in any other are refused.
pub const SHOP_CURRENCY: Currency = Currency::USD;
/// The highest price a product can have: $1,000,000.00.
pub const MAX_PRICE_MINOR: i64 = 100_000_000;

/// An average rating from 0.0 to 5.0, kept in tenths so it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Rating(u8);

impl Rating {
    pub fn from_tenths(tenths: u8) -> Result<Self, String> {
        if tenths > 50 {
            return Err(format!("a rating is at most 5.0, got {}.{}", tenths / 10, tenths % 10));
        }
        Ok(Self(tenths))
    }

    pub fn tenths(self) -> u8 {
        self.0
    }
}

impl Serialize for Rating {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(f64::from(self.0) / 10.0)
    }
}

/// A product as stored: everything but its stock, which lives in
/// [`crate::stock`] so that stock writes never touch the product item.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: ProductId,
    pub title: String,
    pub description: String,
    pub brand: String,
    pub category_id: CategoryId,
    pub price: Money,
    pub rating: Rating,
    pub review_count: u32,
    /// How many stock shard items hold this product's stock (see `stock`).
    pub stock_shards: u8,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented on every change; updates are conditional on it.
    pub version: u64,
}

/// What an administrator sends to create or update a product
/// (`PUT /admin/products/{productId}`), before it is checked.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductDraftInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub brand: String,
    pub category_id: String,
    pub price: PriceInput,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    pub amount: i64,
    pub currency: String,
}

/// A checked product draft: every field within its limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDraft {
    pub title: String,
    pub description: String,
    pub brand: String,
    pub category_id: CategoryId,
    pub price: Money,
}

/// A trimmed text field of `min..=max` characters without control
/// characters (newlines allowed); a problem is added to `errors`.
pub(crate) fn text_field(errors: &mut Vec<FieldError>, field: &str, value: String, min: usize, max: usize) -> String {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars < min {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if chars > max {
        errors.push(FieldError::new(field, format!("must be at most {max} characters")));
    } else if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError::new(field, "must not contain control characters"));
    }
    trimmed.to_owned()
}

impl ProductDraft {
    /// Checks every field and reports all problems at once.
    pub fn parse(input: ProductDraftInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = text_field(&mut errors, "title", input.title, 1, 200);
        let description = text_field(&mut errors, "description", input.description, 0, 5000);
        let brand = text_field(&mut errors, "brand", input.brand, 1, 100);
        let category_id = CategoryId::parse(input.category_id)
            .map_err(|m| errors.push(FieldError::new("categoryId", m)))
            .ok();
        let currency = Currency::parse(&input.price.currency)
            .map_err(|m| errors.push(FieldError::new("price.currency", m)))
            .ok();
        if let Some(c) = currency
            && c != SHOP_CURRENCY
        {
            errors.push(FieldError::new(
                "price.currency",
                format!("the shop sells in {SHOP_CURRENCY} only"),
            ));
        }
        if !(1..=MAX_PRICE_MINOR).contains(&input.price.amount) {
            errors.push(FieldError::new(
                "price.amount",
                format!("must be between 1 and {MAX_PRICE_MINOR} minor units"),
            ));
        }
        match (category_id, currency) {
            (Some(category_id), Some(currency)) if errors.is_empty() => Ok(Self {
                title,
                description,
                brand,
                category_id,
                price: Money::new(input.price.amount, currency),
            }),
            _ => Err(errors),
        }
    }
}

/// A category as an admin sends it (`PUT /admin/categories/{categoryId}`),
/// before it is checked.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CategoryDraftInput {
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<String>,
}

/// A category to create or rename: a name, and the parent it sits under
/// (none for a top-level category).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryDraft {
    pub name: String,
    pub parent_id: Option<CategoryId>,
}

impl CategoryDraft {
    /// Checks every field of the category `id` and reports all problems at once.
    pub fn parse(id: &CategoryId, input: CategoryDraftInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = text_field(&mut errors, "name", input.name, 1, 100);
        if name.contains('\n') {
            errors.push(FieldError::new("name", "must be one line"));
        }
        let parent_id = match input.parent_id.map(CategoryId::parse).transpose() {
            Ok(Some(parent)) if &parent == id => {
                errors.push(FieldError::new("parentId", "a category cannot be its own parent"));
                None
            }
            Ok(parent) => parent,
            Err(message) => {
                errors.push(FieldError::new("parentId", message));
                None
            }
        };
        if errors.is_empty() {
            Ok(Self { name, parent_id })
        } else {
            Err(errors)
        }
    }
}

/// A category of the catalog tree. Products belong to leaf categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub parent_id: Option<CategoryId>,
    /// Products directly in this category (only leaves hold products).
    pub product_count: u64,
}

/// A category with its children, as `GET /categories` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryNode {
    pub category_id: CategoryId,
    pub name: String,
    /// Products in this category and all categories below it.
    pub product_count: u64,
    pub children: Vec<CategoryNode>,
}

/// Arranges categories into trees, each level sorted by name, with product
/// counts summed up the tree.
pub fn category_tree(categories: &[Category]) -> Vec<CategoryNode> {
    fn build(categories: &[Category], parent: Option<&CategoryId>) -> Vec<CategoryNode> {
        let mut nodes: Vec<CategoryNode> = categories
            .iter()
            .filter(|c| c.parent_id.as_ref() == parent)
            .map(|c| {
                let children = build(categories, Some(&c.id));
                CategoryNode {
                    category_id: c.id.clone(),
                    name: c.name.clone(),
                    product_count: c.product_count + children.iter().map(|n| n.product_count).sum::<u64>(),
                    children,
                }
            })
            .collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes
    }
    build(categories, None)
}

/// A product as lists show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSummary {
    pub product_id: ProductId,
    pub title: String,
    pub brand: String,
    pub category_id: CategoryId,
    pub price: Money,
    pub rating: Rating,
    pub review_count: u32,
}

impl From<&Product> for ProductSummary {
    fn from(p: &Product) -> Self {
        Self {
            product_id: p.id.clone(),
            title: p.title.clone(),
            brand: p.brand.clone(),
            category_id: p.category_id.clone(),
            price: p.price,
            rating: p.rating,
            review_count: p.review_count,
        }
    }
}

/// A product as its own page shows it, with what can be bought now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductDetail {
    #[serde(flatten)]
    pub summary: ProductSummary,
    pub description: String,
    /// Units that can be put in a cart right now.
    pub available: i64,
    pub in_stock: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl ProductDetail {
    pub fn new(p: &Product, stock: &StockLevel) -> Self {
        Self {
            summary: ProductSummary::from(p),
            description: p.description.clone(),
            available: stock.available,
            in_stock: stock.in_stock(),
            created_at: crate::time::format(p.created_at),
            updated_at: crate::time::format(p.updated_at),
        }
    }
}

/// The leaf categories at or below `id` (itself, if it is a leaf); `None` if
/// there is no such category.
pub fn leaves_under(categories: &[Category], id: &CategoryId) -> Option<Vec<CategoryId>> {
    categories.iter().find(|c| &c.id == id)?;
    let mut leaves = Vec::new();
    let mut pending = vec![id.clone()];
    while let Some(current) = pending.pop() {
        let children: Vec<CategoryId> = categories
            .iter()
            .filter(|c| c.parent_id.as_ref() == Some(&current))
            .map(|c| c.id.clone())
            .collect();
        if children.is_empty() {
            leaves.push(current);
        } else {
            pending.extend(children);
        }
    }
    leaves.sort();
    Some(leaves)
}

/// The categories from the top of the tree down to `id` (inclusive); just
/// `id` if it is unknown.
pub fn category_path(categories: &[Category], id: &CategoryId) -> Vec<CategoryId> {
    let mut path = vec![id.clone()];
    let mut current = id;
    while let Some(parent) = categories
        .iter()
        .find(|c| &c.id == current)
        .and_then(|c| c.parent_id.as_ref())
    {
        // A cycle would be a corrupt tree; stop rather than loop.
        if path.contains(parent) {
            break;
        }
        path.push(parent.clone());
        current = parent;
    }
    path.reverse();
    path
}

/// Orders for browsing a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BrowseSort {
    /// Best rated first, then most reviewed (the default).
    #[default]
    Rating,
    PriceAsc,
    PriceDesc,
    Newest,
}

impl BrowseSort {
    pub const ALL: [(&'static str, BrowseSort); 4] = [
        ("rating", BrowseSort::Rating),
        ("price_asc", BrowseSort::PriceAsc),
        ("price_desc", BrowseSort::PriceDesc),
        ("newest", BrowseSort::Newest),
    ];

    pub fn parse(value: &str) -> Result<Self, String> {
        crate::choice::parse(&Self::ALL, value)
    }

    pub fn as_str(self) -> &'static str {
        crate::choice::name(&Self::ALL, &self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(amount: i64, currency: &str) -> ProductDraftInput {
        ProductDraftInput {
            title: "  Acme Wireless Headphones ".into(),
            description: String::new(),
            brand: "Acme".into(),
            category_id: "electronics-headphones".into(),
            price: PriceInput {
                amount,
                currency: currency.into(),
            },
        }
    }

    #[test]
    fn a_valid_draft_is_trimmed_and_kept() {
        let draft = ProductDraft::parse(input(1999, "USD")).unwrap();
        assert_eq!(draft.title, "Acme Wireless Headphones");
        assert_eq!(draft.price, Money::new(1999, Currency::USD));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut bad = input(0, "EUR");
        bad.title = " ".into();
        bad.category_id = "Not A Slug".into();
        let errors = ProductDraft::parse(bad).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "categoryId", "price.currency", "price.amount"]);
    }

    #[test]
    fn prices_must_be_positive_and_bounded() {
        assert!(ProductDraft::parse(input(-1, "USD")).is_err());
        assert!(ProductDraft::parse(input(MAX_PRICE_MINOR + 1, "USD")).is_err());
        assert!(ProductDraft::parse(input(MAX_PRICE_MINOR, "USD")).is_ok());
    }

    #[test]
    fn the_tree_sums_counts_from_the_leaves_up() {
        let cat = |id: &str, parent: Option<&str>, count| Category {
            id: CategoryId::parse(id).unwrap(),
            name: id.to_owned(),
            parent_id: parent.map(|p| CategoryId::parse(p).unwrap()),
            product_count: count,
        };
        let tree = category_tree(&[
            cat("b-leaf", Some("root"), 3),
            cat("root", None, 0),
            cat("a-leaf", Some("root"), 2),
        ]);
        assert_eq!(tree.len(), 1);
        assert_eq!(tree[0].product_count, 5);
        let names: Vec<&str> = tree[0].children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a-leaf", "b-leaf"]);
    }

    #[test]
    fn a_department_browses_all_its_leaves_and_a_leaf_itself() {
        let cat = |id: &str, parent: Option<&str>| Category {
            id: CategoryId::parse(id).unwrap(),
            name: id.to_owned(),
            parent_id: parent.map(|p| CategoryId::parse(p).unwrap()),
            product_count: 0,
        };
        let all = [
            cat("home", None),
            cat("home-lamps", Some("home")),
            cat("home-rugs", Some("home")),
            cat("toys", None),
        ];
        let ids = |v: Vec<CategoryId>| v.into_iter().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            ids(leaves_under(&all, &all[0].id).unwrap()),
            ["home-lamps", "home-rugs"]
        );
        assert_eq!(ids(leaves_under(&all, &all[2].id).unwrap()), ["home-rugs"]);
        assert_eq!(leaves_under(&all, &CategoryId::parse("garden").unwrap()), None);
    }

    #[test]
    fn browse_sorts_parse_by_name_and_list_the_choices_on_error() {
        assert_eq!(BrowseSort::parse("price_desc").unwrap(), BrowseSort::PriceDesc);
        assert!(BrowseSort::parse("cheapest").unwrap_err().contains("price_asc"));
    }
}
