//! Orders: what a checkout creates, and the rules of their life afterwards.

use crate::ids::{ProductId, UserId};
use crate::money::Money;
use crate::payment::PaymentMethodId;
use crate::pricing::Totals;
use crate::stock::Allocation;
use crate::time::Timestamp;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An order id: `ord_` and 26 base-32 characters, derived from the checkout
/// that created it, so that a retried checkout can only ever make the same
/// order (the table refuses a second item with the same key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

const ORDER_ID_PREFIX: &str = "ord_";
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl OrderId {
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        let body = value.strip_prefix(ORDER_ID_PREFIX);
        match body {
            Some(body) if body.len() == 26 && body.bytes().all(|b| CROCKFORD.contains(&b)) => Ok(Self(value)),
            _ => Err(format!("{value:?} is not an order id (ord_ and 26 base-32 characters)")),
        }
    }

    /// The id for a checkout identified by `seed` (a hash of who checked out
    /// and with which idempotency key): its first 128 bits in ULID's base 32.
    pub fn derive(seed: &[u8; 32]) -> Self {
        let mut first = [0u8; 16];
        first.copy_from_slice(&seed[..16]);
        Self(format!("{ORDER_ID_PREFIX}{}", ulid::Ulid(u128::from_be_bytes(first))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(value)
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Confirmed,
    Packed,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Packed => "packed",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "confirmed" => Ok(Self::Confirmed),
            "packed" => Ok(Self::Packed),
            "shipped" => Ok(Self::Shipped),
            "delivered" => Ok(Self::Delivered),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(format!(
                "{value:?} is not a status (confirmed, packed, shipped, delivered, cancelled)"
            )),
        }
    }

    /// Whether the shopper may still cancel: only before the parcel leaves.
    pub fn cancellable(self) -> bool {
        matches!(self, Self::Confirmed | Self::Packed)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("an order that is {from} cannot become {to}")]
    Illegal { from: OrderStatus, to: OrderStatus },
    #[error("a shipped order needs a trackingNumber")]
    MissingTrackingNumber,
}

/// The fulfilment steps: `confirmed → packed → shipped → delivered`, one at
/// a time; `shipped` needs a tracking number. (Cancelling is the shopper's
/// own route, see [`OrderStatus::cancellable`].)
pub fn check_fulfilment(from: OrderStatus, to: OrderStatus, tracking: Option<&str>) -> Result<(), TransitionError> {
    use OrderStatus::*;
    match (from, to) {
        (Confirmed, Packed) | (Shipped, Delivered) => Ok(()),
        (Packed, Shipped) if tracking.is_some() => Ok(()),
        (Packed, Shipped) => Err(TransitionError::MissingTrackingNumber),
        _ => Err(TransitionError::Illegal { from, to }),
    }
}

/// Where an order goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `US`.
    pub country: String,
}

impl ShippingAddress {
    /// Every problem with the address, each naming its field.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let mut text = |field: &str, value: &str, max: usize| {
            let trimmed = value.trim();
            if trimmed.is_empty() {
                problems.push(FieldError::new(format!("shippingAddress.{field}"), "must not be empty"));
            } else if value.chars().count() > max {
                problems.push(FieldError::new(
                    format!("shippingAddress.{field}"),
                    format!("must be at most {max} characters"),
                ));
            } else if value.chars().any(char::is_control) {
                problems.push(FieldError::new(
                    format!("shippingAddress.{field}"),
                    "must not contain control characters",
                ));
            }
        };
        text("name", &self.name, 100);
        text("line1", &self.line1, 200);
        if let Some(line2) = &self.line2 {
            text("line2", line2, 200);
        }
        text("city", &self.city, 100);
        if let Some(region) = &self.region {
            text("region", region, 100);
        }
        text("postalCode", &self.postal_code, 20);
        if !(self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase())) {
            problems.push(FieldError::new(
                "shippingAddress.country",
                "must be a two-letter ISO 3166 country code, e.g. \"US\"",
            ));
        }
        problems
    }
}

/// One product of an order, priced when the order was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub product_id: ProductId,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
    /// The stock shards the units were sold from (so a cancel returns them).
    #[serde(skip)]
    pub taken: Allocation,
}

/// One step of an order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// The payment behind an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPayment {
    /// The provider's payment id.
    pub payment_id: crate::payment::PaymentId,
    /// The idempotency key the payment was created under.
    pub provider_key: String,
    /// Set once the payment has been refunded (after a cancel).
    pub refund_id: Option<String>,
}

/// What a shopper sends to place an order (`POST /orders`, besides the
/// `Idempotency-Key` header); kept on the key's record so that the
/// reconciler can finish a checkout that died.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrder {
    pub shipping_address: ShippingAddress,
    pub payment_method_id: PaymentMethodId,
}

/// Why a checkout placed no order: its final answer, kept on the key's
/// record for every retry. The edge gives each its HTTP status and problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum CheckoutRefusal {
    #[error("the cart is empty; add something first")]
    CartEmpty,
    #[error("the reservation of {} ran out; add the items to the cart again", product_ids.join(", "))]
    ReservationExpired { product_ids: Vec<String> },
    #[error(
        "the cart changed while the order was being placed; the payment was refunded, review the cart and try again"
    )]
    CartChanged,
    #[error("the payment was declined: {message}")]
    PaymentFailed { decline_code: String, message: String },
    #[error(
        "the checkout was interrupted and no order was placed; nothing was charged, or the charge was refunded. \
         Review the cart and place the order again with a new Idempotency-Key"
    )]
    CheckoutInterrupted,
}

impl CheckoutRefusal {
    /// The stable code clients switch on (the serialised tag).
    pub fn code(&self) -> &'static str {
        match self {
            Self::CartEmpty => "CART_EMPTY",
            Self::ReservationExpired { .. } => "RESERVATION_EXPIRED",
            Self::CartChanged => "CART_CHANGED",
            Self::PaymentFailed { .. } => "PAYMENT_FAILED",
            Self::CheckoutInterrupted => "CHECKOUT_INTERRUPTED",
        }
    }
}

/// A carrier's tracking number: 1 to 64 letters, digits or dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingNumber(String);

impl TrackingNumber {
    pub fn parse(value: &str) -> Result<Self, String> {
        let valid =
            !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be 1 to 64 letters, digits or dashes".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub totals: Totals,
    pub shipping_address: ShippingAddress,
    pub payment: OrderPayment,
    pub estimated_delivery: time::Date,
    pub tracking_number: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented on every status change; changes are conditional on it.
    pub version: u64,
}

/// The checkout's answer: `201 { orderId, status, subtotal, tax, shipping,
/// total, estimatedDelivery, createdAt }`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacedView<'a> {
    pub order_id: &'a OrderId,
    pub status: OrderStatus,
    pub subtotal: Money,
    pub tax: Money,
    pub shipping: Money,
    pub total: Money,
    pub estimated_delivery: String,
    pub created_at: String,
}

/// One order in the shopper's list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryView<'a> {
    pub order_id: &'a OrderId,
    pub status: OrderStatus,
    pub total: Money,
    pub item_count: i64,
    pub created_at: String,
    pub estimated_delivery: String,
}

/// `GET /orders/{orderId}`: everything, with the status history.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailView<'a> {
    #[serde(flatten)]
    pub placed: PlacedView<'a>,
    pub lines: &'a [OrderLine],
    pub shipping_address: &'a ShippingAddress,
    pub tracking_number: Option<&'a str>,
    pub refunded: bool,
    pub updated_at: String,
    pub history: &'a [StatusChange],
}

impl Order {
    pub fn placed_view(&self) -> PlacedView<'_> {
        PlacedView {
            order_id: &self.id,
            status: self.status,
            subtotal: self.totals.subtotal,
            tax: self.totals.tax,
            shipping: self.totals.shipping,
            total: self.totals.total,
            estimated_delivery: date_string(self.estimated_delivery),
            created_at: crate::time::format(self.created_at),
        }
    }

    pub fn summary_view(&self) -> SummaryView<'_> {
        SummaryView {
            order_id: &self.id,
            status: self.status,
            total: self.totals.total,
            item_count: self.lines.iter().map(|l| l.quantity).sum(),
            created_at: crate::time::format(self.created_at),
            estimated_delivery: date_string(self.estimated_delivery),
        }
    }

    pub fn detail_view<'a>(&'a self, history: &'a [StatusChange]) -> DetailView<'a> {
        DetailView {
            placed: self.placed_view(),
            lines: &self.lines,
            shipping_address: &self.shipping_address,
            tracking_number: self.tracking_number.as_deref(),
            refunded: self.payment.refund_id.is_some(),
            updated_at: crate::time::format(self.updated_at),
            history,
        }
    }
}

/// `2026-12-03`.
pub fn date_string(date: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn derived_order_ids_parse_and_differ_by_seed() {
        let a = OrderId::derive(&[7; 32]);
        let b = OrderId::derive(&[8; 32]);
        assert_ne!(a, b);
        assert_eq!(OrderId::parse(a.as_str()).unwrap(), a);
        assert_eq!(OrderId::derive(&[7; 32]), a, "the same seed gives the same id");
        assert!(OrderId::parse("ord_123").is_err());
        assert!(OrderId::parse("ORD#1").is_err());
    }

    #[test]
    fn fulfilment_goes_one_step_at_a_time() {
        assert!(check_fulfilment(Confirmed, Packed, None).is_ok());
        assert!(check_fulfilment(Packed, Shipped, Some("1Z999")).is_ok());
        assert!(check_fulfilment(Shipped, Delivered, None).is_ok());
        assert_eq!(
            check_fulfilment(Packed, Shipped, None),
            Err(TransitionError::MissingTrackingNumber)
        );
        for (from, to) in [
            (Confirmed, Shipped),
            (Confirmed, Delivered),
            (Delivered, Packed),
            (Cancelled, Packed),
            (Shipped, Shipped),
            (Confirmed, Cancelled),
        ] {
            assert!(check_fulfilment(from, to, Some("T")).is_err(), "{from} → {to}");
        }
    }

    #[test]
    fn only_orders_not_yet_shipped_can_be_cancelled() {
        assert!(Confirmed.cancellable() && Packed.cancellable());
        assert!(!Shipped.cancellable() && !Delivered.cancellable() && !Cancelled.cancellable());
    }

    #[test]
    fn addresses_name_every_bad_field() {
        let address = ShippingAddress {
            name: " ".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "x".repeat(101),
            region: None,
            postal_code: "12345".into(),
            country: "usa".into(),
        };
        let fields: Vec<String> = address.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "shippingAddress.name",
                "shippingAddress.city",
                "shippingAddress.country"
            ]
        );
    }

    #[test]
    fn a_refusal_is_stored_under_its_code() {
        let refusals = [
            CheckoutRefusal::CartEmpty,
            CheckoutRefusal::ReservationExpired {
                product_ids: vec!["A".into()],
            },
            CheckoutRefusal::CartChanged,
            CheckoutRefusal::PaymentFailed {
                decline_code: "card_declined".into(),
                message: "no".into(),
            },
            CheckoutRefusal::CheckoutInterrupted,
        ];
        for refusal in refusals {
            let json = serde_json::to_value(&refusal).unwrap();
            assert_eq!(json["code"], refusal.code());
            assert_eq!(serde_json::from_value::<CheckoutRefusal>(json).unwrap(), refusal);
        }
        let declined = CheckoutRefusal::PaymentFailed {
            decline_code: "x".into(),
            message: "m".into(),
        };
        assert_eq!(serde_json::to_value(&declined).unwrap()["declineCode"], "x");
    }
}
