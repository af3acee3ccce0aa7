//! An in-memory stand-in for the table behind the narrow traits (feature
//! `testing`), so that a handler's rules can be unit-tested without a stack:
//! unknown ids read as `None`, another user's order is not theirs, a write
//! on an order read at an older version answers `false`. It keeps none of
//! DynamoDB's behaviour beyond what the traits promise; the stack-based
//! tests in `tests/` stay the proof that the real store keeps them.

use crate::StoreError;
use crate::catalog::{CategoryReader, ProductReader};
use crate::live::LiveConnections;
use crate::orders::{OrderReader, OrderWriter};
use crate::recommendations::CoPurchases;
use shop_domain::catalog::{Category, Product};
use shop_domain::events::OrderEvent;
use shop_domain::ids::{CategoryId, ProductId, UserId};
use shop_domain::live::Topic;
use shop_domain::order::{Order, OrderId, OrderStatus, StatusChange};
use shop_domain::recommendations::{Tally, tallies};
use shop_domain::stock::StockLevel;
use shop_domain::time::{self as clock, Now, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

/// The fake table. Its clock stands still at [`FakeStore::at`].
#[derive(Debug)]
pub struct FakeStore {
    state: Mutex<State>,
    now: Timestamp,
}

#[derive(Debug, Default)]
struct State {
    products: BTreeMap<ProductId, (Product, StockLevel)>,
    categories: Vec<Category>,
    orders: BTreeMap<OrderId, (Order, Vec<StatusChange>)>,
    connections: BTreeSet<String>,
    watches: BTreeMap<Topic, BTreeSet<String>>,
    pairs: BTreeMap<ProductId, BTreeMap<ProductId, u64>>,
    sold: BTreeMap<ProductId, u64>,
    counted_orders: BTreeSet<OrderId>,
}

impl FakeStore {
    /// An empty table whose clock reads `now`.
    pub fn at(now: Timestamp) -> Self {
        Self {
            state: Mutex::default(),
            now,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("a test panicked while holding the fake")
    }

    pub fn with_product(self, product: Product, stock: StockLevel) -> Self {
        self.state().products.insert(product.id.clone(), (product, stock));
        self
    }

    pub fn with_categories(self, categories: Vec<Category>) -> Self {
        self.state().categories = categories;
        self
    }

    pub fn with_order(self, order: Order) -> Self {
        let placed = StatusChange {
            status: order.status,
            at: clock::format(order.created_at),
            tracking_number: None,
        };
        self.state().orders.insert(order.id.clone(), (order, vec![placed]));
        self
    }

    /// The order as stored now.
    pub fn order_now(&self, id: &OrderId) -> Option<Order> {
        self.state().orders.get(id).map(|(order, _)| order.clone())
    }

    /// The connections watching `topic`.
    pub fn watching(&self, topic: &Topic) -> BTreeSet<String> {
        self.state().watches.get(topic).cloned().unwrap_or_default()
    }

    /// Whether `connection` is open.
    pub fn is_connected(&self, connection: &str) -> bool {
        self.state().connections.contains(connection)
    }

    fn change(&self, order: &Order, change: impl FnOnce(&mut Order)) -> bool {
        let mut state = self.state();
        let Some((stored, history)) = state.orders.get_mut(&order.id) else {
            return false;
        };
        if stored.version != order.version {
            return false;
        }
        change(stored);
        stored.version += 1;
        stored.updated_at = self.now;
        history.push(StatusChange {
            status: stored.status,
            at: clock::format(self.now),
            tracking_number: stored.tracking_number.clone(),
        });
        true
    }
}

impl Now for FakeStore {
    fn now(&self) -> Timestamp {
        self.now
    }
}

impl ProductReader for FakeStore {
    async fn product_with_stock(&self, id: &ProductId) -> Result<Option<(Product, StockLevel)>, StoreError> {
        Ok(self.state().products.get(id).cloned())
    }
}

impl CategoryReader for FakeStore {
    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        Ok(self.state().categories.clone())
    }
}

impl OrderReader for FakeStore {
    async fn order(&self, id: &OrderId) -> Result<Option<(Order, Vec<StatusChange>)>, StoreError> {
        Ok(self.state().orders.get(id).cloned())
    }

    async fn orders_of(
        &self,
        user: &UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Order>, Option<String>), StoreError> {
        let mut mine: Vec<Order> = (self.state().orders.values())
            .filter(|(order, _)| &order.user_id == user)
            .map(|(order, _)| order.clone())
            .collect();
        mine.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        let start = cursor
            .and_then(|after| mine.iter().position(|o| o.id.as_str() == after))
            .map_or(0, |i| i + 1);
        let page: Vec<Order> = mine.iter().skip(start).take(limit as usize).cloned().collect();
        let next = (start + page.len() < mine.len())
            .then(|| page.last().map(|o| o.id.to_string()))
            .flatten();
        Ok((page, next))
    }
}

impl OrderWriter for FakeStore {
    async fn cancel(&self, order: &Order, _now: Timestamp) -> Result<bool, StoreError> {
        Ok(self.change(order, |stored| stored.status = OrderStatus::Cancelled))
    }

    async fn set_status(
        &self,
        order: &Order,
        status: OrderStatus,
        tracking_number: Option<&str>,
        _now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.change(order, |stored| {
            stored.status = status;
            if let Some(tracking) = tracking_number {
                stored.tracking_number = Some(tracking.to_owned());
            }
        }))
    }

    async fn mark_refunded(&self, order: &OrderId, refund_id: &str) -> Result<(), StoreError> {
        if let Some((stored, _)) = self.state().orders.get_mut(order) {
            stored.payment.refund_id = Some(refund_id.to_owned());
        }
        Ok(())
    }
}

impl LiveConnections for FakeStore {
    async fn connect(&self, connection: &str) -> Result<(), StoreError> {
        self.state().connections.insert(connection.to_owned());
        Ok(())
    }

    async fn subscribe(&self, connection: &str, topics: &BTreeSet<Topic>) -> Result<(), StoreError> {
        let mut state = self.state();
        for watchers in state.watches.values_mut() {
            watchers.remove(connection);
        }
        for topic in topics {
            state
                .watches
                .entry(topic.clone())
                .or_default()
                .insert(connection.to_owned());
        }
        Ok(())
    }

    async fn disconnect(&self, connection: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        state.connections.remove(connection);
        for watchers in state.watches.values_mut() {
            watchers.remove(connection);
        }
        Ok(())
    }

    async fn forget(&self, connection: &str, topic: &Topic) -> Result<(), StoreError> {
        let mut state = self.state();
        if let Some(watchers) = state.watches.get_mut(topic) {
            watchers.remove(connection);
        }
        state.connections.remove(connection);
        Ok(())
    }

    async fn watchers(&self, topic: &Topic) -> Result<Vec<String>, StoreError> {
        Ok(self.watching(topic).into_iter().collect())
    }
}

impl CoPurchases for FakeStore {
    async fn record_order(&self, event: &OrderEvent) -> Result<usize, StoreError> {
        let mut state = self.state();
        if !state.counted_orders.insert(event.order_id.clone()) {
            return Ok(0);
        }
        let counts = tallies(&event.payload.lines);
        for tally in &counts {
            match tally {
                Tally::Pair { product, with } => {
                    *state
                        .pairs
                        .entry(product.clone())
                        .or_default()
                        .entry(with.clone())
                        .or_default() += 1;
                }
                Tally::Sold { product, units } => *state.sold.entry(product.clone()).or_default() += u64::from(*units),
            }
        }
        Ok(counts.len())
    }

    async fn also_bought(&self, id: &ProductId) -> Result<Vec<(ProductId, u64)>, StoreError> {
        let state = self.state();
        Ok(state
            .pairs
            .get(id)
            .map(|with| with.iter().map(|(p, n)| (p.clone(), *n)).collect())
            .unwrap_or_default())
    }

    async fn best_sellers(&self, category: &CategoryId, limit: usize) -> Result<Vec<ProductId>, StoreError> {
        let state = self.state();
        let mut sold: Vec<(ProductId, u64)> = state
            .sold
            .iter()
            .filter(|(id, _)| state.products.get(*id).is_some_and(|(p, _)| &p.category_id == category))
            .map(|(id, n)| (id.clone(), *n))
            .collect();
        sold.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(sold.into_iter().take(limit).map(|(id, _)| id).collect())
    }

    async fn products(&self, ids: &[ProductId]) -> Result<Vec<Product>, StoreError> {
        let state = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| state.products.get(id).map(|(p, _)| p.clone()))
            .collect())
    }
}

/// A confirmed order of `user`, one line of two units of `P0000001`, placed
/// at `at`; `n` makes its id.
pub fn sample_order(user: &UserId, n: u8, at: Timestamp) -> Order {
    use shop_domain::money::{Currency, Money};
    use shop_domain::order::{OrderLine, OrderPayment, ShippingAddress};
    use shop_domain::payment::PaymentId;
    use shop_domain::pricing::{self, Totals};
    let usd = |cents| Money::new(cents, Currency::USD);
    Order {
        id: OrderId::derive(&[n; 32]),
        user_id: user.clone(),
        status: OrderStatus::Confirmed,
        lines: vec![OrderLine {
            product_id: ProductId::parse("P0000001").expect("a valid id"),
            title: "Sample".into(),
            quantity: 2,
            unit_price: usd(1000),
            line_total: usd(2000),
            taken: Default::default(),
        }],
        totals: Totals {
            subtotal: usd(2000),
            tax: usd(160),
            shipping: usd(599),
            total: usd(2759),
        },
        shipping_address: ShippingAddress {
            name: "Ada".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Springfield".into(),
            region: None,
            postal_code: "12345".into(),
            country: "US".into(),
        },
        payment: OrderPayment {
            payment_id: PaymentId::new(format!("pi_{n}")),
            provider_key: format!("key_{n}"),
            refund_id: None,
        },
        estimated_delivery: pricing::estimated_delivery(at.date()),
        tracking_number: None,
        created_at: at,
        updated_at: at,
        version: 1,
    }
}
