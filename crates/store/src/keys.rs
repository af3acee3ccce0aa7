//! The table's key scheme, in one place. See `docs/data-model.md`.

use shop_domain::idempotency::IdempotencyKey;
use shop_domain::ids::{CategoryId, ProductId, UserId};
use shop_domain::live::Topic;
use shop_domain::order::{OrderId, OrderStatus};
use shop_domain::review::ReviewId;

pub const PK: &str = "pk";
pub const SK: &str = "sk";

/// Attribute holding a product's leaf category on the browse indexes.
pub const CATEGORY_KEY: &str = "categoryKey";

/// The three sparse indexes that list a category's products in one order each.
pub const BY_CATEGORY_PRICE: (&str, &str) = ("ByCategoryPrice", "priceKey");
pub const BY_CATEGORY_RATING: (&str, &str) = ("ByCategoryRating", "ratingKey");
pub const BY_CATEGORY_NEWEST: (&str, &str) = ("ByCategoryNewest", "newestKey");

/// The partition that holds the category tree and catalog metadata.
pub const CATALOG_PK: &str = "CATALOG";
pub const PRODUCT_SK: &str = "PRODUCT";
pub const STOCK_SK_PREFIX: &str = "STOCK#";
pub const CATEGORY_SK_PREFIX: &str = "CATEGORY#";
/// Marks a catalog the local runner has seeded, with its size.
pub const SEED_SK: &str = "SEED";

pub fn product_pk(id: &ProductId) -> String {
    format!("PRODUCT#{id}")
}

/// The product id back out of a `PRODUCT#<id>` key.
pub fn product_id_of_pk(pk: &str) -> Option<ProductId> {
    pk.strip_prefix("PRODUCT#").and_then(|id| ProductId::parse(id).ok())
}

pub fn stock_sk(shard: u8) -> String {
    format!("{STOCK_SK_PREFIX}{shard:02}")
}

pub fn category_sk(id: &CategoryId) -> String {
    format!("{CATEGORY_SK_PREFIX}{id}")
}

pub const GSI1: &str = "GSI1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// The TTL attribute (epoch seconds); only collects garbage.
pub const EXPIRES_AT: &str = "expiresAt";

pub const CART_HEADER_SK: &str = "CART";
pub const CART_LINE_SK_PREFIX: &str = "LINE#";
/// Reservations are spread over this many GSI1 partitions, so that no index
/// partition takes every cart write.
pub const RESERVATION_BUCKETS: u32 = 16;

pub fn cart_pk(user: &UserId) -> String {
    format!("CART#{user}")
}

pub fn cart_line_sk(product: &ProductId) -> String {
    format!("{CART_LINE_SK_PREFIX}{product}")
}

/// The cart header's attribute that records when the shopper's latest hold
/// on a product began: `hold:<productId>`.
pub const HOLD_PREFIX: &str = "hold:";

pub fn hold_attribute(product: &ProductId) -> String {
    format!("{HOLD_PREFIX}{product}")
}

/// A stable small hash (FNV-1a), for spreading keys over buckets and shards.
pub fn spread(parts: &[&str]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(b'#')) {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    }
    hash
}

/// The GSI1 partition that lists a cart line by its expiry.
pub fn reservation_bucket_pk(user: &UserId, product: &ProductId) -> String {
    reservation_bucket_name(spread(&[user.as_str(), product.as_str()]) % RESERVATION_BUCKETS)
}

pub fn reservation_bucket_name(bucket: u32) -> String {
    format!("RESERVATIONS#{bucket:02}")
}

pub fn reservation_sk(reserved_until: &str, user: &UserId, product: &ProductId) -> String {
    format!("{reserved_until}#{user}#{product}")
}

/// Sort keys of the browse indexes. Fixed-width numbers sort as strings; the
/// product id at the end makes every key unique and pages stable.
pub fn price_key(amount: i64, id: &ProductId) -> String {
    format!("{amount:012}#{id}")
}

pub fn rating_key(rating_tenths: u8, review_count: u32, id: &ProductId) -> String {
    format!("{rating_tenths:02}#{review_count:010}#{id}")
}

pub fn newest_key(created_at: &str, id: &ProductId) -> String {
    format!("{created_at}#{id}")
}

/// The product id at the end of a browse sort key.
pub fn product_id_of_sort_key(key: &str) -> Option<ProductId> {
    key.rsplit('#').next().and_then(|id| ProductId::parse(id).ok())
}

/// A simulated payment provider's charge, by the caller's idempotency key.
pub fn charge_pk(key: &str) -> String {
    format!("CHARGE#{key}")
}
pub const CHARGE_SK: &str = "CHARGE";

pub fn order_pk(id: &OrderId) -> String {
    format!("ORDER#{id}")
}
pub const ORDER_SK: &str = "ORDER";
pub const ORDER_STATUS_SK_PREFIX: &str = "STATUS#";

/// A status change sorts by time, then by status.
pub fn order_status_sk(at: &str, status: OrderStatus) -> String {
    format!("{ORDER_STATUS_SK_PREFIX}{at}#{status}")
}

/// GSI1 lists a user's orders newest first.
pub fn user_orders_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

pub fn user_order_sk(created_at: &str, id: &OrderId) -> String {
    format!("ORDER#{created_at}#{id}")
}

/// The order id at the end of a user-orders sort key.
pub fn order_id_of_user_order_sk(key: &str) -> Option<OrderId> {
    key.rsplit('#').next().and_then(|id| OrderId::parse(id).ok())
}

/// A checkout's idempotency record: the key is scoped to its user (user ids
/// never contain `#`, so the key may).
pub fn idempotency_pk(user: &UserId, key: &IdempotencyKey) -> String {
    format!("IDEMPOTENCY#{user}#{}", key.as_str())
}
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";

/// Checkouts in progress are spread over this many GSI1 partitions, listed
/// by when their lock runs out, for the reconciler.
pub const CHECKOUT_BUCKETS: u32 = 16;

/// The GSI1 partition that lists a checkout in progress.
pub fn checkouts_bucket_pk(user: &UserId, key: &IdempotencyKey) -> String {
    checkouts_bucket_name(spread(&[user.as_str(), key.as_str()]) % CHECKOUT_BUCKETS)
}

pub fn checkouts_bucket_name(bucket: u32) -> String {
    format!("CHECKOUTS#{bucket:02}")
}

pub fn checkout_sk(locked_until: &str, user: &UserId, key: &IdempotencyKey) -> String {
    format!("{locked_until}#{user}#{}", key.as_str())
}

/// A refund a cancelled order still owes: `REFUND#<orderId>` / `REFUND`,
/// listed on GSI1 by when it became due, in [`REFUND_BUCKETS`] partitions.
pub fn refund_owed_pk(order: &OrderId) -> String {
    format!("REFUND#{order}")
}
pub const REFUND_OWED_SK: &str = "REFUND";
pub const REFUND_BUCKETS: u32 = 4;

pub fn refunds_bucket_pk(order: &OrderId) -> String {
    refunds_bucket_name(spread(&[order.as_str()]) % REFUND_BUCKETS)
}

pub fn refunds_bucket_name(bucket: u32) -> String {
    format!("REFUNDS#{bucket:02}")
}

pub fn refund_owed_sk(due_since: &str, order: &OrderId) -> String {
    format!("{due_since}#{order}")
}

/// Failed checkouts, per user, by time.
pub fn audit_pk(user: &UserId) -> String {
    format!("AUDIT#{user}")
}

pub fn audit_sk(at: &str, key: &IdempotencyKey) -> String {
    format!("{at}#{}", key.as_str())
}

/// An event waiting in the outbox (relayed to SQS from the table's stream).
pub fn outbox_pk(event_id: &str) -> String {
    format!("OUTBOX#{event_id}")
}
pub const OUTBOX_SK: &str = "EVENT";

/// "Customers also bought": `ALSO#<a>` / `WITH#<b>` counts the orders that
/// had both `a` and `b`.
pub fn also_pk(id: &ProductId) -> String {
    format!("ALSO#{id}")
}

pub const WITH_SK_PREFIX: &str = "WITH#";

pub fn with_sk(id: &ProductId) -> String {
    format!("{WITH_SK_PREFIX}{id}")
}

/// Marks one transaction's worth of an order's co-purchase counts as done,
/// so a redelivered event counts nothing twice.
pub fn also_order_pk(order: &OrderId) -> String {
    format!("ALSO-ORDER#{order}")
}

pub fn also_order_sk(chunk: usize) -> String {
    format!("CHUNK#{chunk:03}")
}

/// A product's units sold, in its own partition beside the product item
/// (never touching the item the catalog writes).
pub const SALES_SK: &str = "SALES";

/// The sparse index that lists a category's best sellers (Number sort key).
pub const BY_CATEGORY_SALES: (&str, &str) = ("ByCategorySales", "unitsSold");

/// A product's reviews and everything about them: `REVIEWS#<productId>`
/// holds `REVIEW#<reviewId>` (newest first, as review ids are ULIDs),
/// `BY#<userId>` (whose review it is: one per shopper), `VOTE#<reviewId>#<userId>`
/// (one helpful vote per shopper) and `SUMMARY` (the rating histogram).
pub fn reviews_pk(id: &ProductId) -> String {
    format!("REVIEWS#{id}")
}

pub const REVIEWS_PK_PREFIX: &str = "REVIEWS#";
pub const REVIEW_SK_PREFIX: &str = "REVIEW#";

pub fn review_sk(id: &ReviewId) -> String {
    format!("{REVIEW_SK_PREFIX}{id}")
}

pub fn review_author_sk(user: &UserId) -> String {
    format!("BY#{user}")
}

pub fn review_vote_sk(review: &ReviewId, user: &UserId) -> String {
    format!("VOTE#{review}#{user}")
}

pub const RATING_SUMMARY_SK: &str = "SUMMARY";

/// GSI1 lists a product's reviews by helpful votes: `HELPFUL#<productId>` /
/// `<votes, 10 digits>#<reviewId>`.
pub fn helpful_pk(id: &ProductId) -> String {
    format!("HELPFUL#{id}")
}

pub fn helpful_sk(votes: u32, review: &ReviewId) -> String {
    format!("{votes:010}#{review}")
}

/// Marks a review event as counted in the product's rating, so a
/// redelivered event counts nothing twice.
pub fn rated_marker_pk(event_id: &str) -> String {
    format!("RATED#{event_id}")
}

pub const RATED_MARKER_SK: &str = "EVENT";

/// The email an order event sends: claimed, then marked sent, once.
pub fn mail_pk(event_id: &str) -> String {
    format!("MAIL#{event_id}")
}

pub const MAIL_SK: &str = "MAIL";

/// A WebSocket connection of the live stock API.
pub fn live_connection_pk(connection: &str) -> String {
    format!("LIVE#{connection}")
}

pub const LIVE_CONNECTION_SK: &str = "CONNECTION";

/// The connections watching a topic: `WATCH#<productId>` for a product's
/// stock, `WATCH#ORDER#<orderId>` for an order's status (a product id has
/// no `#`), each with `CONN#<connectionId>` items.
pub fn watch_pk(topic: &Topic) -> String {
    match topic {
        Topic::Product(id) => format!("WATCH#{id}"),
        Topic::Order(id) => format!("WATCH#ORDER#{id}"),
    }
}

pub const WATCH_SK_PREFIX: &str = "CONN#";

pub fn watch_sk(connection: &str) -> String {
    format!("{WATCH_SK_PREFIX}{connection}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browse_keys_sort_like_the_numbers_they_hold() {
        let id = ProductId::parse("P1").unwrap();
        assert!(price_key(999, &id) < price_key(1000, &id));
        assert!(rating_key(45, 10, &id) < rating_key(45, 200, &id));
        assert!(rating_key(9, 99999, &id) < rating_key(10, 0, &id));
    }

    #[test]
    fn ids_come_back_out_of_keys() {
        let id = ProductId::parse("P0000042").unwrap();
        assert_eq!(product_id_of_pk(&product_pk(&id)), Some(id.clone()));
        assert_eq!(product_id_of_sort_key(&rating_key(41, 7, &id)), Some(id));
    }
}
