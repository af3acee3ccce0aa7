//! Reviews, helpful votes, and the rating they add up to
//! (`docs/reviews.md`, `docs/data-model.md`).

use super::keys::{self, PK, SK};
use super::{Attrs, DynamoStore, Item, StoreError, Transacted, correlation, n, retry_lost_races, s};
use crate::catalog::product_from_item;
use crate::orders::OrderReader;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem, Update};
use shop_domain::events::ReviewRated;
use shop_domain::ids::{ProductId, UserId};
use shop_domain::order::{OrderId, OrderStatus};
use shop_domain::review::{Histogram, Review, ReviewDraft, ReviewId, ReviewSort, Stars, proves_purchase};
use shop_domain::time as clock;
use std::future::Future;
use time::Duration;

/// Markers outlive any redelivery: SQS keeps a message 4 days, its
/// dead-letter queue 14.
const MARKER_RETENTION: Duration = Duration::days(30);
/// Orders read per page while looking for one that proves a purchase.
const ORDERS_PAGE: u32 = 50;

/// Why a review, vote or deletion was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("only a shopper with an order of product {0} that is not cancelled may review it")]
    NotABuyer(ProductId),
    #[error("review {0} does not exist")]
    NotFound(ReviewId),
    #[error("shoppers cannot vote for their own review")]
    OwnReview,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A review as written: new, or replacing the shopper's earlier one.
#[derive(Debug, Clone)]
pub struct Written {
    pub review: Review,
    pub created: bool,
}

/// A helpful vote's outcome: `counted` is false when the shopper had voted
/// for this review before (the vote is not counted again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub helpful: u32,
    pub counted: bool,
}

/// Where a page of reviews continues: after this review, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewCursor {
    review: ReviewId,
    /// Its helpful votes when the page was read (the helpful order only).
    votes: Option<u32>,
}

impl ReviewCursor {
    /// `<reviewId>` (newest first) or `<votes>:<reviewId>` (most helpful).
    pub fn parse(sort: ReviewSort, value: &str) -> Result<Self, String> {
        let bad = || format!("{value:?} is not a cursor this list returned");
        let (votes, review) = match sort {
            ReviewSort::Newest => (None, value),
            ReviewSort::Helpful => {
                let (votes, review) = value.split_once(':').ok_or_else(bad)?;
                (Some(votes.parse().map_err(|_| bad())?), review)
            }
        };
        Ok(Self {
            review: ReviewId::parse(review).map_err(|_| bad())?,
            votes,
        })
    }

    fn of(review: &Review, sort: ReviewSort) -> Self {
        Self {
            review: review.review_id.clone(),
            votes: (sort == ReviewSort::Helpful).then_some(review.helpful),
        }
    }
}

impl std::fmt::Display for ReviewCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.votes {
            Some(votes) => write!(f, "{votes}:{}", self.review),
            None => write!(f, "{}", self.review),
        }
    }
}

/// A product's reviews, votes and rating.
pub trait Reviews {
    /// One page of the product's reviews, and where the next begins.
    fn reviews(
        &self,
        product: &ProductId,
        sort: ReviewSort,
        limit: u32,
        after: Option<&ReviewCursor>,
    ) -> impl Future<Output = Result<(Vec<Review>, Option<ReviewCursor>), StoreError>> + Send;

    /// The product's ratings by star count: the counted reviews, or, before
    /// the first, the rating the product came with
    /// ([`Histogram::approximating`]).
    fn histogram(
        &self,
        product: &shop_domain::catalog::Product,
    ) -> impl Future<Output = Result<Histogram, StoreError>> + Send;

    /// Writes the shopper's review of `product`, or replaces the one they
    /// wrote before. Refused unless an order of theirs that is not
    /// cancelled contains the product; the order is checked in the same
    /// transaction, so a cancel racing the review cannot let it through.
    fn write_review(
        &self,
        user: &UserId,
        product: &ProductId,
        draft: &ReviewDraft,
    ) -> impl Future<Output = Result<Written, ReviewError>> + Send;

    /// Counts the shopper's helpful vote, once per shopper and review.
    fn vote_helpful(
        &self,
        user: &UserId,
        product: &ProductId,
        review: &ReviewId,
    ) -> impl Future<Output = Result<Vote, ReviewError>> + Send;

    /// Removes a review (staff); false when there was none.
    fn delete_review(
        &self,
        product: &ProductId,
        review: &ReviewId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts one review event into the product's histogram, rating and
    /// review count, in one transaction with a marker that only one
    /// delivery can create. Answers false when the event was counted
    /// before, or its product no longer exists.
    fn count_rating(&self, event: &ReviewRated) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

fn review_from_item(item: &Item) -> Result<(Review, UserId), StoreError> {
    let a = Attrs::new(item);
    let review = Review {
        review_id: a.parsed("reviewId", |v| ReviewId::parse(v))?,
        product_id: a.parsed("productId", |v| ProductId::parse(v))?,
        rating: Stars::new(a.n("rating")?).map_err(|e| a.corrupt(e))?,
        title: a.s("title")?.to_owned(),
        body: a.s("body")?.to_owned(),
        helpful: a.n("helpful")?,
        created_at: a.parsed("createdAt", clock::parse)?,
        updated_at: a.parsed("updatedAt", clock::parse)?,
        version: a.n("version")?,
    };
    Ok((review, a.parsed("userId", |v| UserId::parse(v))?))
}

fn review_item(review: &Review, author: &UserId) -> Item {
    correlation::stamp_item(Item::from([
        (PK.into(), s(keys::reviews_pk(&review.product_id))),
        (SK.into(), s(keys::review_sk(&review.review_id))),
        ("entity".into(), s("Review")),
        ("reviewId".into(), s(review.review_id.as_str())),
        ("productId".into(), s(review.product_id.as_str())),
        ("userId".into(), s(author.as_str())),
        ("rating".into(), n(review.rating.get())),
        ("title".into(), s(&review.title)),
        ("body".into(), s(&review.body)),
        ("helpful".into(), n(review.helpful)),
        ("createdAt".into(), s(clock::format(review.created_at))),
        ("updatedAt".into(), s(clock::format(review.updated_at))),
        ("version".into(), n(review.version)),
        (keys::GSI1_PK.into(), s(keys::helpful_pk(&review.product_id))),
        (
            keys::GSI1_SK.into(),
            s(keys::helpful_sk(review.helpful, &review.review_id)),
        ),
    ]))
}

fn histogram_from_item(item: &Item) -> Result<(Histogram, u64), StoreError> {
    let a = Attrs::new(item);
    let mut counts = [0i64; 5];
    for (stars, count) in (1..).zip(counts.iter_mut()) {
        *count = a.n(&format!("r{stars}"))?;
    }
    Ok((Histogram(counts), a.n("version")?))
}

impl DynamoStore {
    /// An order of the shopper's that proves they bought `product`.
    async fn purchase_proof(&self, user: &UserId, product: &ProductId) -> Result<Option<OrderId>, StoreError> {
        let mut cursor = None;
        loop {
            let (orders, next) = self.orders_of(user, ORDERS_PAGE, cursor.as_deref()).await?;
            if let Some(order) = orders.iter().find(|o| proves_purchase(o, product)) {
                return Ok(Some(order.id.clone()));
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(None),
            }
        }
    }

    /// The shopper's review of `product`, if they wrote one. The two reads
    /// are not one snapshot: a review deleted between them (with its `BY#`
    /// item, in one transaction) reads as none, and writing a new one is
    /// conditional on the `BY#` item being gone, so a wrong guess only
    /// makes the caller's transaction fail and decide again.
    async fn review_by(&self, user: &UserId, product: &ProductId) -> Result<Option<Review>, StoreError> {
        let pk = keys::reviews_pk(product);
        let Some(author) = self.get(pk.clone(), &keys::review_author_sk(user)).await? else {
            return Ok(None);
        };
        let id = Attrs::new(&author).parsed("reviewId", |v| ReviewId::parse(v))?;
        match self.get(pk, &keys::review_sk(&id)).await? {
            Some(item) => Ok(Some(review_from_item(&item)?.0)),
            None => Ok(None),
        }
    }

    async fn try_write_review(
        &self,
        user: &UserId,
        product: &ProductId,
        draft: &ReviewDraft,
    ) -> Result<Option<Written>, ReviewError> {
        let Some(proof) = self.purchase_proof(user, product).await? else {
            return Err(ReviewError::NotABuyer(product.clone()));
        };
        let now = self.clock.now();
        let pk = keys::reviews_pk(product);
        let still_bought = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(keys::order_pk(&proof)))
            .key(SK, s(keys::ORDER_SK))
            .condition_expression("#status <> :cancelled AND userId = :user")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", s(OrderStatus::Cancelled.as_str()))
            .expression_attribute_values(":user", s(user.as_str()))
            .build()
            .expect("key and condition are set");
        let (written, mut actions) = match self.review_by(user, product).await? {
            None => {
                let review = Review {
                    review_id: ReviewId::new(now),
                    product_id: product.clone(),
                    rating: draft.rating,
                    title: draft.title.clone(),
                    body: draft.body.clone(),
                    helpful: 0,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                let author = Item::from([
                    (PK.into(), s(&pk)),
                    (SK.into(), s(keys::review_author_sk(user))),
                    ("entity".into(), s("ReviewAuthor")),
                    ("reviewId".into(), s(review.review_id.as_str())),
                ]);
                let actions = vec![
                    self.put_action(author, Some("attribute_not_exists(pk)")),
                    self.put_action(review_item(&review, user), Some("attribute_not_exists(pk)")),
                ];
                (Written { review, created: true }, actions)
            }
            Some(old) => {
                let review = Review {
                    rating: draft.rating,
                    title: draft.title.clone(),
                    body: draft.body.clone(),
                    updated_at: now,
                    version: old.version + 1,
                    ..old.clone()
                };
                // An update, not a put: helpful votes land on the same item.
                let update = correlation::stamp_update(
                    Update::builder()
                        .table_name(&self.table)
                        .key(PK, s(&pk))
                        .key(SK, s(keys::review_sk(&review.review_id)))
                        .condition_expression("version = :old")
                        .expression_attribute_names("#rating", "rating")
                        .expression_attribute_values(":old", n(old.version))
                        .expression_attribute_values(":version", n(review.version))
                        .expression_attribute_values(":rating", n(review.rating.get()))
                        .expression_attribute_values(":title", s(&review.title))
                        .expression_attribute_values(":body", s(&review.body))
                        .expression_attribute_values(":now", s(clock::format(now))),
                    "SET #rating = :rating, title = :title, body = :body, updatedAt = :now, version = :version",
                )
                .build()
                .expect("key and expression are set");
                (
                    Written { review, created: false },
                    vec![TransactWriteItem::builder().update(update).build()],
                )
            }
        };
        actions.push(TransactWriteItem::builder().condition_check(still_bought).build());
        // Any cancellation is a race: another write of the same shopper's
        // review, or the order cancelled since it was read. Deciding again
        // turns the first into an edit and the second into a refusal.
        Ok(match self.transact(actions).await? {
            Transacted::Committed => Some(written),
            Transacted::Cancelled(_) => None,
        })
    }

    async fn try_vote(&self, user: &UserId, product: &ProductId, id: &ReviewId) -> Result<Option<Vote>, ReviewError> {
        let pk = keys::reviews_pk(product);
        let Some(item) = self.get(pk.clone(), &keys::review_sk(id)).await? else {
            return Err(ReviewError::NotFound(id.clone()));
        };
        let (review, author) = review_from_item(&item)?;
        if &author == user {
            return Err(ReviewError::OwnReview);
        }
        let vote = Item::from([
            (PK.into(), s(&pk)),
            (SK.into(), s(keys::review_vote_sk(id, user))),
            ("entity".into(), s("HelpfulVote")),
            ("createdAt".into(), s(clock::format(self.clock.now()))),
        ]);
        let votes = review.helpful + 1;
        let bump = Update::builder()
            .table_name(&self.table)
            .key(PK, s(&pk))
            .key(SK, s(keys::review_sk(id)))
            .update_expression("SET helpful = :votes, #gsi1sk = :key")
            .condition_expression("helpful = :old")
            .expression_attribute_names("#gsi1sk", keys::GSI1_SK)
            .expression_attribute_values(":votes", n(votes))
            .expression_attribute_values(":key", s(keys::helpful_sk(votes, id)))
            .expression_attribute_values(":old", n(review.helpful))
            .build()
            .expect("key and expression are set");
        let actions = vec![
            self.put_action(vote, Some("attribute_not_exists(pk)")),
            TransactWriteItem::builder().update(bump).build(),
        ];
        Ok(match self.transact(actions).await? {
            Transacted::Committed => Some(Vote {
                helpful: votes,
                counted: true,
            }),
            Transacted::Cancelled(failed) if failed.first() == Some(&true) => Some(Vote {
                helpful: review.helpful,
                counted: false,
            }),
            // Another vote, an edit or a deletion came first: look again.
            Transacted::Cancelled(_) => None,
        })
    }

    async fn try_delete(&self, product: &ProductId, id: &ReviewId) -> Result<Option<bool>, StoreError> {
        let pk = keys::reviews_pk(product);
        let Some(item) = self.get(pk.clone(), &keys::review_sk(id)).await? else {
            return Ok(Some(false));
        };
        let (review, author) = review_from_item(&item)?;
        let delete = |sk: String, condition: &str, value: AttributeValue| {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(&pk))
                .key(SK, s(sk))
                .condition_expression(condition)
                .expression_attribute_values(":v", value)
                .build()
                .expect("key is set");
            TransactWriteItem::builder().delete(delete).build()
        };
        let actions = vec![
            delete(keys::review_sk(id), "version = :v", n(review.version)),
            delete(keys::review_author_sk(&author), "reviewId = :v", s(id.as_str())),
        ];
        Ok(match self.transact(actions).await? {
            Transacted::Committed => Some(true),
            Transacted::Cancelled(_) => None,
        })
    }

    async fn try_count_rating(&self, event: &ReviewRated) -> Result<Option<bool>, StoreError> {
        let Some(item) = self.get(keys::product_pk(&event.product_id), keys::PRODUCT_SK).await? else {
            return Ok(Some(false));
        };
        let product = product_from_item(&item)?;
        let pk = keys::reviews_pk(&event.product_id);
        let (mut histogram, summary_version) = match self.get(pk.clone(), keys::RATING_SUMMARY_SK).await? {
            Some(item) => histogram_from_item(&item)?,
            None => (Histogram::approximating(product.rating, product.review_count), 0),
        };
        histogram.apply(event.before, event.after);
        let (rating, count) = (histogram.average(), histogram.count());
        let now = self.clock.now();

        let marker = Item::from([
            (PK.into(), s(keys::rated_marker_pk(&event.event_id))),
            (SK.into(), s(keys::RATED_MARKER_SK)),
            ("entity".into(), s("RatedMarker")),
            (keys::EXPIRES_AT.into(), n((now + MARKER_RETENTION).unix_timestamp())),
        ]);
        let mut summary = Item::from([
            (PK.into(), s(&pk)),
            (SK.into(), s(keys::RATING_SUMMARY_SK)),
            ("entity".into(), s("RatingSummary")),
            ("version".into(), n(summary_version + 1)),
        ]);
        for (stars, count) in (1..).zip(histogram.0) {
            summary.insert(format!("r{stars}"), n(count));
        }
        let summary = match summary_version {
            0 => self.put_action(summary, Some("attribute_not_exists(pk)")),
            v => self.conditional_put(summary, Some("version = :v"), &[(":v", n(v))]),
        };
        let product_update = correlation::stamp_update(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(keys::product_pk(&product.id)))
                .key(SK, s(keys::PRODUCT_SK))
                .condition_expression("version = :old")
                .expression_attribute_names("#ratingKey", keys::BY_CATEGORY_RATING.1)
                .expression_attribute_values(":old", n(product.version))
                .expression_attribute_values(":version", n(product.version + 1))
                .expression_attribute_values(":rating", n(rating.tenths()))
                .expression_attribute_values(":count", n(count))
                .expression_attribute_values(":key", s(keys::rating_key(rating.tenths(), count, &product.id)))
                .expression_attribute_values(":now", s(clock::format(now))),
            "SET ratingTenths = :rating, reviewCount = :count, #ratingKey = :key, updatedAt = :now, version = :version",
        )
        .build()
        .expect("key and expression are set");
        let actions = vec![
            self.put_action(marker, Some("attribute_not_exists(pk)")),
            summary,
            TransactWriteItem::builder().update(product_update).build(),
        ];
        Ok(match self.transact(actions).await? {
            Transacted::Committed => Some(true),
            // The marker exists: an earlier delivery counted this event.
            Transacted::Cancelled(failed) if failed.first() == Some(&true) => Some(false),
            // Another event, or an admin's edit of the product, came first.
            Transacted::Cancelled(_) => None,
        })
    }
}

impl Reviews for DynamoStore {
    async fn reviews(
        &self,
        product: &ProductId,
        sort: ReviewSort,
        limit: u32,
        after: Option<&ReviewCursor>,
    ) -> Result<(Vec<Review>, Option<ReviewCursor>), StoreError> {
        let reviews_pk = keys::reviews_pk(product);
        let mut query = self.client.query().table_name(&self.table).scan_index_forward(false);
        query = match sort {
            ReviewSort::Newest => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(&reviews_pk))
                .expression_attribute_values(":prefix", s(keys::REVIEW_SK_PREFIX)),
            ReviewSort::Helpful => query
                .index_name(keys::GSI1)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::GSI1_PK)
                .expression_attribute_values(":pk", s(keys::helpful_pk(product))),
        };
        if let Some(after) = after {
            query = query
                .exclusive_start_key(PK, s(&reviews_pk))
                .exclusive_start_key(SK, s(keys::review_sk(&after.review)));
            if let Some(votes) = after.votes {
                query = query
                    .exclusive_start_key(keys::GSI1_PK, s(keys::helpful_pk(product)))
                    .exclusive_start_key(keys::GSI1_SK, s(keys::helpful_sk(votes, &after.review)));
            }
        }
        // One more than the page: whether there is a next page is known
        // without an empty last one.
        let output = query
            .limit(limit as i32 + 1)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let mut reviews = output
            .items()
            .iter()
            .map(|item| review_from_item(item).map(|(review, _)| review))
            .collect::<Result<Vec<_>, _>>()?;
        let next = if reviews.len() > limit as usize {
            reviews.truncate(limit as usize);
            reviews.last().map(|r| ReviewCursor::of(r, sort))
        } else {
            None
        };
        Ok((reviews, next))
    }

    async fn histogram(&self, product: &shop_domain::catalog::Product) -> Result<Histogram, StoreError> {
        Ok(
            match self.get(keys::reviews_pk(&product.id), keys::RATING_SUMMARY_SK).await? {
                Some(item) => histogram_from_item(&item)?.0,
                None => Histogram::approximating(product.rating, product.review_count),
            },
        )
    }

    async fn write_review(
        &self,
        user: &UserId,
        product: &ProductId,
        draft: &ReviewDraft,
    ) -> Result<Written, ReviewError> {
        retry_lost_races(|| self.try_write_review(user, product, draft)).await
    }

    async fn vote_helpful(&self, user: &UserId, product: &ProductId, review: &ReviewId) -> Result<Vote, ReviewError> {
        retry_lost_races(|| self.try_vote(user, product, review)).await
    }

    async fn delete_review(&self, product: &ProductId, review: &ReviewId) -> Result<bool, StoreError> {
        retry_lost_races(|| self.try_delete(product, review)).await
    }

    async fn count_rating(&self, event: &ReviewRated) -> Result<bool, StoreError> {
        retry_lost_races(|| self.try_count_rating(event)).await
    }
}
