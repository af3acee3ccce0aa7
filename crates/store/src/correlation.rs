//! The correlation id of the work under way. It is kept on the items whose
//! changes leave the table as events (products, stock shards, outbox
//! events), so the relay hands it on with each message and the workers log
//! it: one id leads from a request to everything it caused
//! (`docs/operations.md`, "Following a request").
//!
//! `shop_edge` sets it for every invocation: an HTTP request's is its
//! `x-correlation-id`, any other invocation's is its Lambda request id.
//! Writes made outside one (the local seeder) carry none.

use crate::{Item, s};
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use std::sync::Arc;

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// The item attribute that holds it, and the SQS message attribute that
/// carries it on.
pub const ATTRIBUTE: &str = "correlationId";

/// Runs `work` with `id` as the current correlation id.
pub async fn scope<F: Future>(id: impl Into<Arc<str>>, work: F) -> F::Output {
    CURRENT.scope(id.into(), work).await
}

/// The current correlation id, if the work runs in a [`scope`].
pub fn current() -> Option<Arc<str>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// `item`, with the current correlation id.
pub(crate) fn stamp_item(mut item: Item) -> Item {
    if let Some(id) = current() {
        item.insert(ATTRIBUTE.into(), s(&*id));
    }
    item
}

/// `update` with the update expression `expression` (which must begin with
/// `SET `), also setting the current correlation id, or removing an
/// earlier change's when there is none.
pub(crate) fn stamp_update(update: UpdateBuilder, expression: &str) -> UpdateBuilder {
    let assignments = expression
        .strip_prefix("SET ")
        .expect("a stamped update expression begins with SET");
    match current() {
        Some(id) => update
            .update_expression(format!("SET {ATTRIBUTE} = :correlationId, {assignments}"))
            .expression_attribute_values(":correlationId", s(&*id)),
        None => update.update_expression(format!("{expression} REMOVE {ATTRIBUTE}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::Update;

    fn built(update: UpdateBuilder) -> Update {
        update.table_name("t").key("pk", s("p")).build().unwrap()
    }

    #[tokio::test]
    async fn updates_and_items_carry_the_current_id_or_none() {
        let expression = "SET a = :a ADD moves :one";
        let outside = built(stamp_update(Update::builder(), expression));
        assert_eq!(
            outside.update_expression(),
            "SET a = :a ADD moves :one REMOVE correlationId"
        );
        assert!(!stamp_item(Item::new()).contains_key(ATTRIBUTE));

        scope("req-1", async {
            let inside = built(stamp_update(Update::builder(), expression));
            assert_eq!(
                inside.update_expression(),
                "SET correlationId = :correlationId, a = :a ADD moves :one"
            );
            assert_eq!(
                inside.expression_attribute_values().unwrap()[":correlationId"],
                s("req-1")
            );
            assert_eq!(stamp_item(Item::new())[ATTRIBUTE], s("req-1"));
        })
        .await;
    }
}
