//! "Customers also bought": what a placed order adds to the co-purchase
//! counts, and how a product's recommendations are chosen.
//!
//! Counts: each placed order adds one to every ordered pair of distinct
//! products in it (`a` bought with `b`, and `b` with `a`), and its units to
//! each product's units sold. The store counts an order once however often
//! its event is delivered (`shop-store`'s `recommendations`).
//!
//! Choice: the products bought together with it most often (ties: product
//! id); without any, the best sellers of its category; without sales there,
//! its category's best rated — so the carousel is never empty while the
//! category has other products.

use crate::catalog::Product;
use crate::events::OrderedLine;
use crate::ids::ProductId;
use serde::Serialize;
use std::collections::BTreeMap;

pub const DEFAULT_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 20;

/// One count a placed order adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tally {
    /// `product` was bought together with `with`.
    Pair { product: ProductId, with: ProductId },
    /// `units` of `product` were sold.
    Sold { product: ProductId, units: u32 },
}

/// The counts an order adds, in a fixed order (so a retried count splits
/// into the same transactions).
pub fn tallies(lines: &[OrderedLine]) -> Vec<Tally> {
    let mut units: BTreeMap<&ProductId, u32> = BTreeMap::new();
    for line in lines {
        *units.entry(&line.product_id).or_default() += line.quantity;
    }
    let mut tallies = Vec::new();
    for (&product, &sold) in &units {
        tallies.push(Tally::Sold {
            product: product.clone(),
            units: sold,
        });
        for &with in units.keys().filter(|&&other| other != product) {
            tallies.push(Tally::Pair {
                product: product.clone(),
                with: with.clone(),
            });
        }
    }
    tallies
}

/// The `limit` partners bought together most often, most first, then by id.
pub fn rank(mut counts: Vec<(ProductId, u64)>, limit: usize) -> Vec<ProductId> {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.into_iter().take(limit).map(|(id, _)| id).collect()
}

/// Why these products were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Basis {
    AlsoBought,
    CategoryBestSellers,
    CategoryTopRated,
}

#[derive(Debug)]
pub struct Recommendations {
    pub basis: Basis,
    pub products: Vec<Product>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ProductId {
        ProductId::parse(s).unwrap()
    }

    fn line(product: &str, quantity: u32) -> OrderedLine {
        OrderedLine {
            product_id: id(product),
            quantity,
        }
    }

    #[test]
    fn an_order_pairs_every_two_distinct_products_both_ways_and_counts_units() {
        let t = tallies(&[line("b", 1), line("a", 2), line("b", 3)]);
        assert_eq!(
            t,
            [
                Tally::Sold {
                    product: id("a"),
                    units: 2
                },
                Tally::Pair {
                    product: id("a"),
                    with: id("b")
                },
                Tally::Sold {
                    product: id("b"),
                    units: 4
                },
                Tally::Pair {
                    product: id("b"),
                    with: id("a")
                },
            ]
        );
        assert_eq!(
            tallies(&[line("a", 1)]),
            [Tally::Sold {
                product: id("a"),
                units: 1
            }]
        );
    }

    #[test]
    fn ranks_by_count_then_id_and_caps() {
        let counts = vec![(id("c"), 2), (id("a"), 5), (id("b"), 2), (id("d"), 1)];
        assert_eq!(rank(counts, 3), [id("a"), id("b"), id("c")]);
    }
}
