//! Integration tests: every test starts its own stack (in-memory dynoxide,
//! random ports) through `devstack`, exactly as the local runner does, and
//! drives the real handlers over HTTP.

mod helpers;

mod admin_products;
mod admin_stock;
mod browse;
mod cart;
mod categories;
mod checkout;
mod checkout_crashes;
mod contract;
mod emails;
mod events;
mod import;
mod lambda_runtime;
mod ledger;
mod live;
mod orders;
mod payments;
mod product_detail;
mod recommendations;
mod rehearsal;
mod reindex;
mod reviews;
mod search;
mod search_backends;
mod smoke;
mod stack;
mod storefront;
