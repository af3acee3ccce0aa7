//! The email worker (SQS): tells shoppers about their orders (placed,
//! shipped with its tracking number, delivered, cancelled, refunded), one
//! mail per event however often the event is delivered (`docs/emails.md`).
//! In AWS through Amazon SES v2 to the address in the Cognito user pool;
//! locally as `.eml` files the storefront's dev mailbox lists.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use shop_domain::events::OrderEvent;
use shop_domain::mail::{MailKind, render};
use shop_domain::time::Now;
use shop_edge::function::{Error, Init};
use shop_edge::queue::apply_each;
use shop_mail::{Directory, Mailer};
use shop_store::mail::{Claim, MailLog};
use shop_store::orders::OrderReader;

/// Where mail goes, whose address it is, and the shop's address for links.
#[derive(Debug, Clone)]
pub struct Post {
    pub mailer: Mailer,
    pub directory: Directory,
    pub storefront: String,
}

pub async fn handle(store: &(impl OrderReader + MailLog + Now), post: &Post, event: SqsEvent) -> SqsBatchResponse {
    // Boxed: the SDK calls' futures nest too deep for the compiler's layout
    // computation inside the Lambda runtime's.
    Box::pin(apply_each(
        &event,
        |e: &OrderEvent| e.event_id.clone(),
        |e| async move { deliver(store, post, &e).await },
    ))
    .await
}

impl Post {
    /// SES and the user pool from the environment (`MAIL_FROM`,
    /// `USER_POOL_ID`, `STOREFRONT_URL`), or the local runner's mail folder
    /// and sign-in.
    pub async fn load(init: &Init<'_>) -> Result<Self, Error> {
        Ok(Self {
            mailer: init
                .provided_or(async { Ok(Mailer::ses(init.sdk, init.var("MAIL_FROM")?)) })
                .await?,
            directory: init
                .provided_or(async { Ok(Directory::cognito(init.sdk, init.var("USER_POOL_ID")?)) })
                .await?,
            storefront: init.var("STOREFRONT_URL")?,
        })
    }
}

shop_edge::function!(SendOrderEmail, SqsEvent => SqsBatchResponse, handle, Post = |init| Post::load(init).await?);

/// Sends the event's mail unless it was sent before. The claim is taken
/// before sending and released if the send fails; a worker that dies
/// between SES accepting the mail and the record of it leaves a claim that
/// runs out, and the event's next delivery sends again (the only way a
/// shopper gets a mail twice).
async fn deliver(store: &(impl OrderReader + MailLog + Now), post: &Post, event: &OrderEvent) -> Result<(), String> {
    let Some(kind) = MailKind::for_event(&event.kind, event.payload.status) else {
        return Ok(());
    };
    let Some((order, _)) = store.order(&event.order_id).await.map_err(|e| e.to_string())? else {
        tracing::warn!(order = %event.order_id, "no such order; no email");
        return Ok(());
    };
    let Some(to) = post
        .directory
        .email_of(&order.user_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        tracing::warn!(user = %order.user_id, "the shopper has no email address; no email");
        return Ok(());
    };
    let now = store.now();
    match store
        .claim_mail(&event.event_id, now)
        .await
        .map_err(|e| e.to_string())?
    {
        Claim::Send => {}
        Claim::Sent(message) => {
            tracing::info!(event = %event.event_id, message, "sent before; not again");
            return Ok(());
        }
        Claim::Busy => return Err("another delivery of this event is sending it".into()),
    }
    let mail = render(kind, &order, &to, &post.storefront);
    match post.mailer.send(&event.event_id, &mail, now.unix_timestamp()).await {
        Ok(message) => {
            tracing::info!(event = %event.event_id, kind = kind.as_str(), message, "order email sent");
            store
                .mail_sent(&event.event_id, &message)
                .await
                .map_err(|e| e.to_string())
        }
        Err(error) => {
            store.release_mail(&event.event_id).await.map_err(|e| e.to_string())?;
            Err(error.to_string())
        }
    }
}
