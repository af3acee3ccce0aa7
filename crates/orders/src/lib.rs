//! The shop's order and money use cases: they take the store's narrow
//! traits and a payment provider, and keep stock and money adding up.
//! They know no HTTP: each returns its own error (`CheckoutError`,
//! `OrderError`), and the function that calls it says it in HTTP.
//!
//! - [`checkout`]: place an order from the cart, charging once per key.
//! - [`orders`]: cancel one's own order (refunding), refund what is owed.
//! - [`reconcile`]: settle checkouts that died and refunds still owed.
//! - [`audit`]: read the books and report where they do not add up.

pub mod audit;
pub mod checkout;
pub mod orders;
pub mod reconcile;
