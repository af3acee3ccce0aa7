//! The reconciler (a scheduled function; a timer in the local runner):
//! finishes what a crash, a timeout or an outage left half done, so that no
//! money is kept without an order and no refund stays owed.
//!
//! - A checkout whose lock ran out more than [`RECONCILE_AFTER`] ago without
//!   finishing is taken over (as its next attempt) and settled by
//!   [`checkout::reconcile_checkout`]: a payment that was charged is kept
//!   and the order placed if the cart still matches it, or refunded; a
//!   payment never charged is cancelled; the key is completed with the
//!   answer the shopper's retry will get. It never charges a card.
//! - A cancelled order whose refund is still owed is refunded.
//!
//! Every action is idempotent (the checkout's own rules, and refunds that a
//! provider makes at most once), so two reconcilers, or a reconciler and the
//! shopper's retry, can meet on the same item. What is still unresolved
//! after [`ALARM_AFTER_TRIES`] tries is reported, for the alarm.

use crate::checkout;
use crate::orders;
use shop_domain::time::{Now, Timestamp};
use shop_payments::PaymentProvider;
use shop_store::StoreError;
use shop_store::cart::CartReader;
use shop_store::orders::{CheckoutStore, OrderWriter, RefundsOwed, StaleCheckouts};

/// How long after its lock ran out a checkout is left to the shopper's own
/// retry (the web app retries a 503 within seconds) before the reconciler
/// settles it.
pub const RECONCILE_AFTER: time::Duration = time::Duration::minutes(2);

/// After this many tries, an item still unresolved raises the alarm.
pub const ALARM_AFTER_TRIES: u32 = 5;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Stale checkouts finished, by the code of the answer stored for them
    /// (`ORDER_PLACED` or the refusal's).
    pub checkouts_answered: Vec<&'static str>,
    /// Cancelled orders refunded.
    pub refunds_made: usize,
    /// Items tried and not resolved this time (the next run tries again).
    pub failed: usize,
    /// Items still unresolved after [`ALARM_AFTER_TRIES`] tries.
    pub stuck: Vec<String>,
}

/// One run of the reconciler, for what was due at `now`. An item that fails
/// is counted and the run goes on with the others.
pub async fn reconcile<S, P>(store: &S, payments: &P, now: Timestamp) -> Result<Reconciled, StoreError>
where
    S: CheckoutStore + StaleCheckouts + CartReader + OrderWriter + RefundsOwed + Now,
    P: PaymentProvider,
{
    let mut run = Reconciled::default();
    for stale in store.stale_checkouts(now - RECONCILE_AFTER).await? {
        let what = format!("checkout {}/{}", stale.user, stale.key.as_str());
        // The lock runs from the take-over, not from the start of the run:
        // a long run must not hand out locks that have already run out.
        let (ticket, request) = match store.take_over(&stale, store.now()).await {
            Ok(Some(taken)) => taken,
            // Finished or taken by someone else meanwhile.
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(checkout = %what, %error, "reconciler could not take a checkout over");
                run.failed += 1;
                continue;
            }
        };
        match checkout::reconcile_checkout(store, payments, &ticket, &request).await {
            Ok(response) => {
                tracing::info!(checkout = %what, answer = response.code(), "reconciler finished a checkout");
                run.checkouts_answered.push(response.code());
            }
            Err(error) => {
                tracing::warn!(checkout = %what, tries = ticket.reconcile_tries, %error, "reconciler could not finish a checkout");
                run.failed += 1;
                if ticket.reconcile_tries >= ALARM_AFTER_TRIES {
                    run.stuck.push(format!("{what}: {error}"));
                }
            }
        }
    }
    for owed in store.refunds_owed(now - RECONCILE_AFTER).await? {
        if let Err(error) = store.count_refund_try(&owed).await {
            tracing::warn!(order = %owed.order, %error, "reconciler could not count a refund try");
        }
        match orders::refund_owed(store, payments, &owed.order, &owed.payment).await {
            Ok(refund) => {
                tracing::info!(order = %owed.order, %refund, "reconciler refunded a cancelled order");
                run.refunds_made += 1;
            }
            Err(error) => {
                tracing::warn!(order = %owed.order, tries = owed.tries + 1, %error, "reconciler could not refund");
                run.failed += 1;
                if owed.tries + 1 >= ALARM_AFTER_TRIES {
                    run.stuck.push(format!("refund of order {}: {error}", owed.order));
                }
            }
        }
    }
    for stuck in &run.stuck {
        tracing::error!(item = %stuck, "unresolved after {ALARM_AFTER_TRIES} tries");
    }
    Ok(run)
}
