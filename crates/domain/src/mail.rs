//! Order emails: which order events send one, and what it says, as plain
//! text and HTML (`docs/emails.md`).

use crate::order::{Order, OrderStatus};
use std::fmt::Write;

/// The order events that send the shopper an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Placed,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
}

impl MailKind {
    /// The mail an order event sends, if any (`OrderStatusChanged` to
    /// `packed` sends none).
    pub fn for_event(kind: &str, status: OrderStatus) -> Option<Self> {
        match (kind, status) {
            ("OrderPlaced", _) => Some(Self::Placed),
            ("OrderStatusChanged", OrderStatus::Shipped) => Some(Self::Shipped),
            ("OrderStatusChanged", OrderStatus::Delivered) => Some(Self::Delivered),
            ("OrderCancelled", _) => Some(Self::Cancelled),
            ("OrderRefunded", _) => Some(Self::Refunded),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }
}

/// One email, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a mail says besides the order's lines and totals.
fn headline(kind: MailKind, order: &Order) -> (String, String) {
    let id = &order.id;
    match kind {
        MailKind::Placed => (
            format!("Your order {id} is confirmed"),
            format!(
                "Thank you for your order. We will let you know when it ships; it should arrive by {}.",
                order.estimated_delivery
            ),
        ),
        MailKind::Shipped => (
            format!("Your order {id} has shipped"),
            match &order.tracking_number {
                Some(tracking) => format!("Your order is on its way. Tracking number: {tracking}."),
                None => "Your order is on its way.".to_owned(),
            },
        ),
        MailKind::Delivered => (
            format!("Your order {id} was delivered"),
            "Your order was delivered. We hope you enjoy it; you can review what you bought on each product's page."
                .to_owned(),
        ),
        MailKind::Cancelled => (
            format!("Your order {id} is cancelled"),
            "Your order is cancelled. The charge is refunded to your payment method; we will confirm when the refund is through."
                .to_owned(),
        ),
        MailKind::Refunded => (
            format!("Your refund for order {id} is on its way"),
            format!(
                "We refunded {} to your payment method. It can take a few days to show on your statement.",
                order.totals.total
            ),
        ),
    }
}

/// The email for `kind` about `order`, to `to`; `storefront` is the shop's
/// address, for the link to the order.
pub fn render(kind: MailKind, order: &Order, to: &str, storefront: &str) -> Mail {
    let (subject, lead) = headline(kind, order);
    let link = format!("{}/orders/{}", storefront.trim_end_matches('/'), order.id);
    let name = &order.shipping_address.name;
    let totals = [
        ("Subtotal", order.totals.subtotal),
        ("Tax", order.totals.tax),
        ("Shipping", order.totals.shipping),
        ("Total", order.totals.total),
    ];

    let mut text = format!("Hello {name},\n\n{lead}\n\nOrder {}\n", order.id);
    for line in &order.lines {
        let _ = writeln!(text, "  {} x {}  {}", line.quantity, line.title, line.line_total);
    }
    text.push('\n');
    for (label, amount) in totals {
        let _ = writeln!(text, "  {label}: {amount}");
    }
    let _ = write!(text, "\nSee your order: {link}\n\nThank you for shopping with us.\n");

    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; color: #1d1d22\">\n<p>Hello {},</p>\n<p>{}</p>\n\
         <table aria-label=\"Order {}\" style=\"border-collapse: collapse\">\n\
         <tr><th align=\"left\">Item</th><th align=\"right\">Qty</th><th align=\"right\">Price</th></tr>\n",
        escape(&subject),
        escape(name),
        escape(&lead),
        escape(order.id.as_str()),
    );
    for line in &order.lines {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td></tr>",
            escape(&line.title),
            line.quantity,
            line.line_total
        );
    }
    for (label, amount) in totals {
        let _ = writeln!(
            html,
            "<tr><td colspan=\"2\">{label}</td><td align=\"right\">{amount}</td></tr>"
        );
    }
    let _ = write!(
        html,
        "</table>\n<p><a href=\"{}\">See your order</a></p>\n<p>Thank you for shopping with us.</p>\n</body></html>\n",
        escape(&link)
    );
    Mail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// Text as HTML: the five characters that can end a text node or an attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ProductId, UserId};
    use crate::money::{Currency, Money};
    use crate::order::{OrderId, OrderLine, OrderPayment, ShippingAddress};
    use crate::payment::PaymentId;
    use crate::pricing::Totals;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::USD)
    }

    fn order() -> Order {
        let at = time::macros::datetime!(2026-12-01 9:00 UTC);
        Order {
            id: OrderId::derive(&[7; 32]),
            user_id: UserId::parse("ann").unwrap(),
            status: OrderStatus::Confirmed,
            lines: vec![OrderLine {
                product_id: ProductId::parse("P1").unwrap(),
                title: "Chess <Set> & \"Clock\"".into(),
                quantity: 2,
                unit_price: usd(1500),
                line_total: usd(3000),
                taken: Default::default(),
            }],
            totals: Totals {
                subtotal: usd(3000),
                tax: usd(240),
                shipping: usd(0),
                total: usd(3240),
            },
            shipping_address: ShippingAddress {
                name: "Ann O'Neil".into(),
                line1: "1 Test Street".into(),
                line2: None,
                city: "Springfield".into(),
                region: None,
                postal_code: "12345".into(),
                country: "US".into(),
            },
            payment: OrderPayment {
                payment_id: PaymentId::new("pi_1"),
                provider_key: "k".into(),
                refund_id: None,
            },
            estimated_delivery: time::macros::date!(2026 - 12 - 05),
            tracking_number: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn each_order_event_sends_its_mail_or_none() {
        use OrderStatus::*;
        assert_eq!(MailKind::for_event("OrderPlaced", Confirmed), Some(MailKind::Placed));
        assert_eq!(MailKind::for_event("OrderStatusChanged", Packed), None);
        assert_eq!(
            MailKind::for_event("OrderStatusChanged", Shipped),
            Some(MailKind::Shipped)
        );
        assert_eq!(
            MailKind::for_event("OrderStatusChanged", Delivered),
            Some(MailKind::Delivered)
        );
        assert_eq!(
            MailKind::for_event("OrderCancelled", Cancelled),
            Some(MailKind::Cancelled)
        );
        assert_eq!(
            MailKind::for_event("OrderRefunded", Cancelled),
            Some(MailKind::Refunded)
        );
        assert_eq!(MailKind::for_event("Whatever", Confirmed), None);
    }

    #[test]
    fn the_placed_mail_lists_the_order_in_text_and_escaped_html() {
        let order = order();
        let mail = render(MailKind::Placed, &order, "ann@example.test", "http://shop.test/");
        assert_eq!(mail.subject, format!("Your order {} is confirmed", order.id));
        assert!(mail.text.starts_with("Hello Ann O'Neil,\n"));
        assert!(
            mail.text.contains("2 x Chess <Set> & \"Clock\"  30.00 USD"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("Total: 32.40 USD"));
        assert!(mail.text.contains("arrive by 2026-12-05"));
        assert!(mail.text.contains(&format!("http://shop.test/orders/{}", order.id)));
        assert!(
            mail.html.contains("Chess &lt;Set&gt; &amp; &quot;Clock&quot;"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains("Hello Ann O&#39;Neil,"));
        assert!(!mail.html.contains("<Set>"));
        assert!(
            mail.html
                .contains(&format!("href=\"http://shop.test/orders/{}\"", order.id))
        );
    }

    #[test]
    fn the_shipped_mail_carries_the_tracking_number_and_the_refund_its_amount() {
        let mut order = order();
        order.tracking_number = Some("1Z999".into());
        let shipped = render(MailKind::Shipped, &order, "a@b.test", "http://shop.test");
        assert!(shipped.subject.ends_with("has shipped"));
        assert!(shipped.text.contains("Tracking number: 1Z999."));
        assert!(shipped.html.contains("Tracking number: 1Z999."));
        let refunded = render(MailKind::Refunded, &order, "a@b.test", "http://shop.test");
        assert!(refunded.text.contains("We refunded 32.40 USD"));
        for kind in [MailKind::Delivered, MailKind::Cancelled] {
            let mail = render(kind, &order, "a@b.test", "http://shop.test");
            assert!(mail.subject.contains(order.id.as_str()));
            assert!(mail.html.starts_with("<!doctype html>"));
        }
    }
}
