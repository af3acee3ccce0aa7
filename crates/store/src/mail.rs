//! The record of order emails sent, one per event (`docs/emails.md`): a
//! worker claims an event's mail before sending it and marks it sent after,
//! so a redelivered event sends nothing.

use super::keys::{self, PK, SK};
use super::{DynamoStore, Item, StoreError, n, s};
use shop_domain::time::{self as clock, Timestamp};
use std::future::Future;
use time::Duration;

/// How long a claim keeps other deliveries of the event away: longer than
/// one send takes, shorter than SQS's visibility timeout is plenty.
pub const CLAIM: Duration = Duration::minutes(5);
/// Records outlive any redelivery: SQS keeps a message 4 days, its
/// dead-letter queue 14.
const RETENTION: Duration = Duration::days(30);

/// What a worker may do with an event's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Send it: this worker holds the claim until `CLAIM` from now.
    Send,
    /// Sent before (the message id it got); send nothing.
    Sent(String),
    /// Another worker is sending it right now; try again later.
    Busy,
}

/// Emails sent, one per order event.
pub trait MailLog {
    /// Claims the mail of `event_id`: the first delivery, or one after a
    /// claim ran out without the mail being marked sent.
    fn claim_mail(&self, event_id: &str, now: Timestamp) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Records the mail as sent, with the message id it got.
    fn mail_sent(&self, event_id: &str, message_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives up a claim after a failed send, so the next delivery sends.
    fn release_mail(&self, event_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl MailLog for DynamoStore {
    async fn claim_mail(&self, event_id: &str, now: Timestamp) -> Result<Claim, StoreError> {
        let claim = Item::from([
            (PK.into(), s(keys::mail_pk(event_id))),
            (SK.into(), s(keys::MAIL_SK)),
            ("entity".into(), s("OrderMail")),
            ("state".into(), s("sending")),
            ("claimedUntil".into(), s(clock::format(now + CLAIM))),
            (keys::EXPIRES_AT.into(), n((now + RETENTION).unix_timestamp())),
        ]);
        // New, or a claim that ran out (its worker died mid-send).
        let claimed = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(claim))
            .condition_expression("attribute_not_exists(pk) OR (#state = :sending AND claimedUntil < :now)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":now", s(clock::format(now)))
            .send()
            .await;
        match claimed {
            Ok(_) => return Ok(Claim::Send),
            Err(e) if super::condition_failed(&e) => {}
            Err(e) => return Err(StoreError::from_sdk(e)),
        }
        let Some(record) = self.get(keys::mail_pk(event_id), keys::MAIL_SK).await? else {
            // Released between the two reads: the next delivery sends.
            return Ok(Claim::Busy);
        };
        let a = super::Attrs::new(&record);
        Ok(match a.opt_s("state") {
            Some("sent") => Claim::Sent(a.opt_s("messageId").unwrap_or_default().to_owned()),
            _ => Claim::Busy,
        })
    }

    async fn mail_sent(&self, event_id: &str, message_id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::mail_pk(event_id)))
            .key(SK, s(keys::MAIL_SK))
            .update_expression("SET #state = :sent, messageId = :id REMOVE claimedUntil")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":id", s(message_id))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    async fn release_mail(&self, event_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(keys::mail_pk(event_id)))
            .key(SK, s(keys::MAIL_SK))
            .condition_expression("#state = :sending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }
}
