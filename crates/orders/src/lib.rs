//! The shop's order and money use cases: they take the store's narrow
//! traits and a payment provider, and keep stock and money adding up.
//!
//! - [`checkout`]: place an order from the cart, charging once per key.
//! - [`orders`]: read one's own order, cancel it (refunding), change its status.
//! - [`reconcile`]: settle checkouts that died and refunds still owed.
//! - [`audit`]: read the books and report where they do not add up.

pub mod audit;
pub mod checkout;
pub mod orders;
pub mod reconcile;
