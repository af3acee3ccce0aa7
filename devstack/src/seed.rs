//! A deterministic, realistic catalog for local use and benchmarks: a
//! category tree, brands per department, titles built from a vocabulary,
//! prices, ratings, review counts and stock. The same size always gives the
//! same catalog.

use anyhow::{Context, anyhow, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shop_domain::catalog::{Category, Product, Rating};
use shop_domain::ids::{CategoryId, ProductId};
use shop_domain::money::Money;
use shop_domain::report::error_chain;
use shop_domain::stock::StockShard;
use shop_store::Item;
use shop_store::catalog::{category_item, product_item, stock_item};
use shop_store::keys;
use std::collections::BTreeMap;
use std::time::Duration;

/// One department: its subcategories (name, nouns, price range in dollars),
/// brands and the adjectives that suit it.
struct Department {
    name: &'static str,
    subcategories: &'static [(&'static str, &'static [&'static str], (u32, u32))],
    brands: &'static [&'static str],
    adjectives: &'static [&'static str],
    variants: &'static [&'static str],
}

const DEPARTMENTS: &[Department] = &[
    Department {
        name: "Electronics",
        subcategories: &[
            (
                "Headphones",
                &["Headphones", "Earbuds", "Headset", "Earphones"],
                (15, 400),
            ),
            (
                "Laptops",
                &["Laptop", "Notebook", "Ultrabook", "Chromebook"],
                (250, 2800),
            ),
            (
                "Cameras",
                &["Camera", "Action Camera", "Mirrorless Camera", "Webcam"],
                (40, 2200),
            ),
            (
                "Smart Home",
                &[
                    "Smart Speaker",
                    "Smart Plug",
                    "Video Doorbell",
                    "Smart Bulb",
                    "Thermostat",
                ],
                (12, 300),
            ),
            (
                "Accessories",
                &[
                    "USB-C Cable",
                    "Power Bank",
                    "Charger",
                    "Keyboard",
                    "Mouse",
                    "Monitor Stand",
                ],
                (8, 150),
            ),
        ],
        brands: &[
            "Sonara", "Voltix", "Lumina", "Arcwave", "Nexon", "Pixelor", "Tembo", "Quantix",
        ],
        adjectives: &[
            "Wireless",
            "Noise-Cancelling",
            "Compact",
            "Pro",
            "Ultra-Slim",
            "Fast-Charging",
            "Bluetooth",
            "4K",
            "Portable",
        ],
        variants: &["Black", "White", "Silver", "Midnight Blue", "Graphite", "2-Pack"],
    },
    Department {
        name: "Home & Kitchen",
        subcategories: &[
            (
                "Cookware",
                &["Frying Pan", "Saucepan", "Dutch Oven", "Wok", "Stock Pot"],
                (15, 350),
            ),
            (
                "Small Appliances",
                &[
                    "Blender",
                    "Coffee Maker",
                    "Air Fryer",
                    "Toaster",
                    "Kettle",
                    "Stand Mixer",
                ],
                (20, 500),
            ),
            (
                "Bedding",
                &[
                    "Duvet Cover",
                    "Sheet Set",
                    "Pillow",
                    "Weighted Blanket",
                    "Mattress Topper",
                ],
                (18, 260),
            ),
            (
                "Lighting",
                &["Floor Lamp", "Desk Lamp", "Pendant Light", "LED Strip", "Table Lamp"],
                (12, 320),
            ),
            (
                "Storage",
                &["Storage Bins", "Shelf Organizer", "Laundry Basket", "Drawer Dividers"],
                (9, 120),
            ),
        ],
        brands: &[
            "Hearthly",
            "Casa Nova",
            "Ovenry",
            "Nordwick",
            "Brightloom",
            "Kindred & Co",
            "Maple Lane",
        ],
        adjectives: &[
            "Non-Stick",
            "Stainless Steel",
            "Cast Iron",
            "Ceramic",
            "Programmable",
            "Cozy",
            "Dimmable",
            "Stackable",
        ],
        variants: &[
            "Queen", "King", "10-Inch", "12-Inch", "Charcoal", "Sage", "Ivory", "Set of 4",
        ],
    },
    Department {
        name: "Sports & Outdoors",
        subcategories: &[
            (
                "Camping",
                &["Tent", "Sleeping Bag", "Camp Stove", "Lantern", "Hammock"],
                (15, 450),
            ),
            (
                "Fitness",
                &["Yoga Mat", "Dumbbells", "Resistance Bands", "Kettlebell", "Jump Rope"],
                (8, 300),
            ),
            (
                "Cycling",
                &[
                    "Bike Helmet",
                    "Bike Light",
                    "Cycling Gloves",
                    "Bike Lock",
                    "Water Bottle Cage",
                ],
                (10, 220),
            ),
            (
                "Running",
                &["Running Shoes", "Running Vest", "Headlamp", "Hydration Belt"],
                (14, 200),
            ),
        ],
        brands: &[
            "Trailpeak",
            "Summit Forge",
            "Velocita",
            "Northbound",
            "Kinetic",
            "Ridgeway",
        ],
        adjectives: &[
            "Lightweight",
            "Waterproof",
            "Ultralight",
            "Adjustable",
            "Breathable",
            "Insulated",
            "Reflective",
        ],
        variants: &[
            "2-Person",
            "4-Person",
            "Small",
            "Medium",
            "Large",
            "Orange",
            "Forest Green",
        ],
    },
    Department {
        name: "Books",
        subcategories: &[
            (
                "Fiction",
                &["Novel", "Thriller", "Mystery", "Fantasy Saga", "Short Stories"],
                (8, 35),
            ),
            (
                "Cookbooks",
                &["Cookbook", "Baking Guide", "Recipe Collection"],
                (12, 45),
            ),
            (
                "Science",
                &["Popular Science Book", "Field Guide", "Astronomy Atlas"],
                (10, 60),
            ),
            (
                "Children's Books",
                &["Picture Book", "Bedtime Stories", "Activity Book", "Early Reader"],
                (5, 25),
            ),
        ],
        brands: &[
            "Harbor House",
            "Quillstone",
            "Lantern Press",
            "Bluefield Books",
            "Margin & Ink",
        ],
        adjectives: &[
            "Illustrated",
            "Bestselling",
            "Award-Winning",
            "Collector's",
            "Annotated",
            "Complete",
        ],
        variants: &["Hardcover", "Paperback", "Large Print", "Box Set"],
    },
    Department {
        name: "Toys & Games",
        subcategories: &[
            (
                "Building Sets",
                &["Building Set", "Marble Run", "Magnetic Tiles", "Robot Kit"],
                (12, 180),
            ),
            (
                "Board Games",
                &["Board Game", "Card Game", "Puzzle", "Strategy Game"],
                (9, 90),
            ),
            (
                "Outdoor Play",
                &["Kite", "Water Blaster", "Scooter", "Swing Set"],
                (10, 250),
            ),
        ],
        brands: &["Playwell", "Brickly", "Funforge", "Tiny Titans", "Meeple Works"],
        adjectives: &[
            "Educational",
            "Family",
            "Cooperative",
            "Glow-in-the-Dark",
            "Deluxe",
            "Classic",
        ],
        variants: &["Ages 3+", "Ages 8+", "1000 Pieces", "Travel Edition"],
    },
    Department {
        name: "Beauty",
        subcategories: &[
            (
                "Skincare",
                &["Moisturizer", "Serum", "Cleanser", "Sunscreen", "Face Mask"],
                (6, 90),
            ),
            (
                "Hair Care",
                &["Shampoo", "Conditioner", "Hair Dryer", "Straightener", "Hair Oil"],
                (6, 220),
            ),
            ("Fragrance", &["Eau de Parfum", "Body Mist", "Cologne"], (15, 160)),
        ],
        brands: &["Velvetine", "Purely", "Aurora Skin", "Botanika", "Maison Lys"],
        adjectives: &[
            "Hydrating",
            "Fragrance-Free",
            "Organic",
            "Vitamin C",
            "Volumizing",
            "Gentle",
        ],
        variants: &["50 ml", "100 ml", "200 ml", "Travel Size", "Value Pack"],
    },
    Department {
        name: "Pet Supplies",
        subcategories: &[
            (
                "Dog",
                &["Dog Bed", "Dog Leash", "Chew Toy", "Dog Harness", "Dog Food Bowl"],
                (6, 150),
            ),
            (
                "Cat",
                &["Cat Tree", "Scratching Post", "Cat Toy", "Litter Box", "Cat Bed"],
                (5, 200),
            ),
            (
                "Aquarium",
                &["Aquarium Filter", "Fish Tank", "Aquarium Heater", "LED Aquarium Light"],
                (10, 260),
            ),
        ],
        brands: &["Pawsome", "Whisker & Tail", "Fetchwell", "AquaNest"],
        adjectives: &[
            "Durable",
            "Orthopedic",
            "Washable",
            "Interactive",
            "Quiet",
            "Self-Cleaning",
        ],
        variants: &["Small", "Medium", "Large", "Gray", "Blue", "20 Gallon"],
    },
    Department {
        name: "Office",
        subcategories: &[
            (
                "Furniture",
                &["Office Chair", "Standing Desk", "Bookshelf", "Filing Cabinet"],
                (60, 900),
            ),
            (
                "Supplies",
                &["Notebook Set", "Gel Pens", "Desk Organizer", "Sticky Notes", "Planner"],
                (4, 60),
            ),
            (
                "Printers",
                &["Laser Printer", "Inkjet Printer", "Label Printer", "Document Scanner"],
                (60, 600),
            ),
        ],
        brands: &["Deskwise", "Inkwell", "Ergonomix", "Paperly", "Officio"],
        adjectives: &[
            "Ergonomic",
            "Height-Adjustable",
            "Recycled",
            "Wireless",
            "Compact",
            "Premium",
        ],
        variants: &["Black", "Oak", "Walnut", "Pack of 12", "A5", "Letter Size"],
    },
];

fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

fn id(text: &str) -> CategoryId {
    CategoryId::parse(text).expect("seed category ids are slugs")
}

/// The category tree: departments with their subcategories (the leaves).
pub fn categories() -> Vec<Category> {
    let mut all = Vec::new();
    for dept in DEPARTMENTS {
        let dept_id = slug(dept.name);
        all.push(Category {
            id: id(&dept_id),
            name: dept.name.into(),
            parent_id: None,
            product_count: 0,
        });
        for (name, _, _) in dept.subcategories {
            all.push(Category {
                id: id(&format!("{dept_id}-{}", slug(name))),
                name: (*name).into(),
                parent_id: Some(id(&dept_id)),
                product_count: 0,
            });
        }
    }
    all
}

/// The product id of the `n`th seeded product (`P0000001`, ...).
pub fn product_id(n: usize) -> ProductId {
    ProductId::parse(format!("P{n:07}")).expect("seed ids are valid")
}

/// The `n`th product of the seeded catalog and its stock on hand; the same
/// `n` always gives the same product.
pub fn product(n: usize) -> (Product, i64) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0000 + n as u64);
    let dept = &DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())];
    let (sub_name, nouns, (low, high)) = dept.subcategories[rng.random_range(0..dept.subcategories.len())];
    let brand = dept.brands[rng.random_range(0..dept.brands.len())];
    let adjective = dept.adjectives[rng.random_range(0..dept.adjectives.len())];
    let noun = nouns[rng.random_range(0..nouns.len())];
    let variant = dept.variants[rng.random_range(0..dept.variants.len())];
    let title = format!("{brand} {adjective} {noun}, {variant}");
    let description = format!(
        "The {brand} {noun} in {variant}: {adjective_lower} and built to last. Part of our {sub_name} range in {dept_name}.",
        adjective_lower = adjective.to_lowercase(),
        dept_name = dept.name,
    );
    // Log-uniform prices ending in .99, within the subcategory's range.
    let dollars = (f64::from(low).ln() + rng.random::<f64>() * (f64::from(high).ln() - f64::from(low).ln())).exp();
    let price = (dollars.floor() as i64).max(1) * 100 + 99;
    // Most ratings are good; few products have many reviews.
    let rating_tenths = (50.0 - (rng.random::<f64>().powi(2) * 30.0)).round() as u8;
    let review_count = (rng.random::<f64>().powi(4) * 25_000.0) as u32;
    let on_hand = if rng.random_bool(0.12) {
        0
    } else {
        rng.random_range(1..=500)
    };
    let days_ago = rng.random_range(0..730);
    let created_at = time::macros::datetime!(2026-11-01 00:00 UTC)
        - time::Duration::days(days_ago)
        - time::Duration::seconds(rng.random_range(0..86_400));
    let dept_id = slug(dept.name);
    let product = Product {
        id: product_id(n),
        title,
        description,
        brand: brand.into(),
        category_id: id(&format!("{dept_id}-{}", slug(sub_name))),
        price: Money::new(price, shop_domain::catalog::SHOP_CURRENCY),
        rating: Rating::from_tenths(rating_tenths.min(50)).expect("rating within 0..=50"),
        review_count,
        stock_shards: 1,
        created_at,
        updated_at: created_at,
        version: 1,
    };
    (product, on_hand)
}

/// Products per bulk import (one SQLite transaction each).
const PRODUCTS_PER_IMPORT: usize = 5_000;

async fn write_batch(client: &Client, table: &str, items: Vec<Item>) -> anyhow::Result<()> {
    let mut requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().expect("item set"))
                .build()
        })
        .collect();
    for attempt in 0..10u32 {
        let output = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(|e| anyhow!("seeding: {}", error_chain(&e)))?;
        requests = output
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default();
        if requests.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
    }
    Err(anyhow!("seeding: DynamoDB kept items unprocessed"))
}

/// The shape of the items this version writes. Raised when a change makes
/// older local data unreadable or unsafe (format 2: cart lines carry a write
/// token instead of a version number), so the runner can say so plainly.
pub const DATA_FORMAT: u32 = 2;

/// How many products the table was seeded with, if it was; an error if the
/// data was written by a version with another [`DATA_FORMAT`].
pub async fn seeded_size(client: &Client, table: &str) -> anyhow::Result<Option<usize>> {
    let output = client
        .get_item()
        .table_name(table)
        .key(keys::PK, AttributeValue::S(keys::CATALOG_PK.into()))
        .key(keys::SK, AttributeValue::S(keys::SEED_SK.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| anyhow!("reading the seed marker: {}", error_chain(&e)))?;
    let Some(marker) = output.item() else {
        return Ok(None);
    };
    let number = |name: &str| match marker.get(name) {
        Some(AttributeValue::N(n)) => n.parse::<usize>().ok(),
        _ => None,
    };
    let format = number("dataFormat").unwrap_or(1);
    if format != DATA_FORMAT as usize {
        bail!(
            "the local data was written by another version of the shop (data format {format}, this one reads \
             {DATA_FORMAT}); start again with `cargo run --release -p devstack -- up --reset`"
        );
    }
    Ok(number("products"))
}

/// Writes `count` products with their stock, then the category tree with
/// its counts, showing a progress bar when `progress` is set, and marks the
/// table as seeded. Products go in through dynoxide's bulk import (a
/// million products through BatchWriteItem would take the better part of an
/// hour); the items are built by the same code the functions write with.
pub async fn seed(
    db: &dynoxide::Database,
    client: &Client,
    table: &str,
    count: usize,
    progress: bool,
) -> anyhow::Result<()> {
    let bar = if progress {
        ProgressBar::new(count as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("seeding {bar:40} {pos}/{len} products ({per_sec}, {eta} left)")
            .context("progress template")?,
    );
    let mut totals: BTreeMap<CategoryId, u64> = BTreeMap::new();
    for first in (1..=count).step_by(PRODUCTS_PER_IMPORT) {
        let last = (first + PRODUCTS_PER_IMPORT - 1).min(count);
        let mut items = Vec::with_capacity((last - first + 1) * 2);
        for n in first..=last {
            let (product, on_hand) = product(n);
            *totals.entry(product.category_id.clone()).or_default() += 1;
            let shard = StockShard {
                on_hand,
                available: on_hand,
                ..StockShard::empty(0)
            };
            items.push(crate::dynamo::to_dynoxide(&stock_item(&product.id, &shard))?);
            items.push(crate::dynamo::to_dynoxide(&product_item(&product))?);
        }
        let (db, table_name) = (db.clone(), table.to_owned());
        tokio::task::spawn_blocking(move || db.import_items(&table_name, items, dynoxide::ImportOptions::default()))
            .await?
            .map_err(|e| anyhow!("seeding: {e}"))?;
        bar.inc((last - first + 1) as u64);
    }
    bar.finish_and_clear();

    let mut items: Vec<Item> = categories()
        .into_iter()
        .map(|mut c| {
            let is_leaf = c.parent_id.is_some();
            c.product_count = totals.get(&c.id).copied().unwrap_or(0);
            category_item(&c, is_leaf)
        })
        .collect();
    items.push(Item::from([
        (keys::PK.into(), AttributeValue::S(keys::CATALOG_PK.into())),
        (keys::SK.into(), AttributeValue::S(keys::SEED_SK.into())),
        ("products".into(), AttributeValue::N(count.to_string())),
        ("dataFormat".into(), AttributeValue::N(DATA_FORMAT.to_string())),
    ]));
    for chunk in items.chunks(25) {
        write_batch(client, table, chunk.to_vec()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_number_always_gives_the_same_product() {
        assert_eq!(product(42), product(42));
        assert_ne!(product(42).0.title, product(43).0.title);
    }

    #[test]
    fn seeded_products_are_in_leaf_categories_within_limits() {
        let leaves: Vec<CategoryId> = categories()
            .into_iter()
            .filter(|c| c.parent_id.is_some())
            .map(|c| c.id)
            .collect();
        for n in 1..=2000 {
            let (p, on_hand) = product(n);
            assert!(leaves.contains(&p.category_id), "{} is not a leaf", p.category_id);
            assert!(p.price.amount > 0 && p.price.amount <= shop_domain::catalog::MAX_PRICE_MINOR);
            assert!(p.rating.tenths() >= 20 && p.rating.tenths() <= 50);
            assert!((0..=500).contains(&on_hand));
        }
    }

    #[test]
    fn the_tree_has_departments_and_subcategories() {
        let all = categories();
        assert_eq!(all.iter().filter(|c| c.parent_id.is_none()).count(), DEPARTMENTS.len());
        assert!(all.iter().any(|c| c.id.as_str() == "electronics-headphones"));
    }
}
