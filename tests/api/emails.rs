//! Order emails: outbox → relay → `EmailQueue` → `send-order-email` →
//! `<eventId>.eml` in the stack's mail folder, listed by the dev mailbox
//! (`GET /dev/mail` on the storefront's origin). One mail per event, however
//! often the event is delivered.

use crate::helpers::{TestApp, with_pipeline, within};
use crate::recommendations::{CATEGORY, buy};
use serde_json::{Value, json};
use std::time::Duration;

async fn mailbox(app: &TestApp) -> Vec<Value> {
    let body: Value = app
        .http
        .get(format!("{}/dev/mail", app.stack.web_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["messages"].as_array().unwrap().clone()
}

/// The subjects of the mails about `order`, oldest first, once there are `n`.
async fn mails_about(app: &TestApp, order: &str, n: usize) -> Vec<Value> {
    let (mails, _) = within(Duration::from_secs(15), "the order's mails arrive", async || {
        let mut mails: Vec<Value> = mailbox(app)
            .await
            .into_iter()
            .filter(|m| m["id"].as_str().unwrap().starts_with(order))
            .collect();
        mails.sort_by_key(|m| m["id"].as_str().unwrap().to_owned());
        (mails.len() >= n).then_some(mails)
    })
    .await;
    assert_eq!(mails.len(), n, "{mails:#?}");
    mails
}

async fn set_status(app: &TestApp, order: &str, body: Value) {
    let reply = app
        .post(
            &format!("/admin/orders/{order}/status"),
            Some(&app.admin()),
            &body.to_string(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn each_order_event_mails_the_shopper_once() {
    let app = with_pipeline(0).await;
    app.create_product("M", "Model Train", CATEGORY, 4999).await;
    assert_eq!(app.set_stock("M", 10).await.status, 200);

    // Placed, then packed (no mail), shipped and delivered.
    let order = buy(&app, "ann", &[("M", 2)]).await;
    let placed = &mails_about(&app, &order, 1).await[0];
    assert_eq!(placed["id"], format!("{order}-OrderPlaced-v1"));
    assert_eq!(placed["to"], "ann@shop.test");
    assert_eq!(placed["from"], "orders@shop.test");
    assert_eq!(placed["subject"], format!("Your order {order} is confirmed"));
    let text = placed["text"].as_str().unwrap();
    assert!(text.contains("2 x Model Train  99.98 USD"), "{text}");
    assert!(placed["html"].as_str().unwrap().contains("<td>Model Train</td>"));

    // The same event delivered three more times: still one mail, sent once
    // (a second send would write the file again).
    let file = app.stack.mail_dir.join(format!("{order}-OrderPlaced-v1.eml"));
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();
    let sqs = app.stack.sqs.clone().unwrap();
    let event = json!({
        "eventId": format!("{order}-OrderPlaced-v1"), "type": "OrderPlaced", "orderId": order,
        "version": 1, "occurredAt": "2026-12-01T09:00:00Z",
        "payload": { "orderId": order, "userId": "ann", "status": "confirmed",
                     "lines": [{ "productId": "M", "quantity": 2 }], "total": { "amount": 10798, "currency": "USD" } }
    });
    for _ in 0..3 {
        sqs.send_message()
            .queue_url(&app.stack.queues["EmailQueue"].url)
            .message_body(event.to_string())
            .send()
            .await
            .unwrap();
    }
    within(Duration::from_secs(10), "the duplicates are consumed", async || {
        (crate::events::queued(&app, "EmailQueue").await == 0).then_some(())
    })
    .await;

    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written,
        "sent again"
    );
    set_status(&app, &order, json!({ "status": "packed" })).await;
    set_status(
        &app,
        &order,
        json!({ "status": "shipped", "trackingNumber": "1Z-TRAIN-7" }),
    )
    .await;
    set_status(&app, &order, json!({ "status": "delivered" })).await;
    let mails = mails_about(&app, &order, 3).await;
    let subjects: Vec<&str> = mails.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(
        subjects,
        [
            format!("Your order {order} is confirmed"),
            format!("Your order {order} has shipped"),
            format!("Your order {order} was delivered"),
        ]
    );
    assert!(
        mails[1]["text"]
            .as_str()
            .unwrap()
            .contains("Tracking number: 1Z-TRAIN-7.")
    );
    let records: Vec<_> = app
        .snapshot()
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with(&format!("MAIL#{order}"))))
        .collect();
    assert_eq!(records.len(), 3, "one send record per mail");
    assert!(records.iter().all(|r| r["state"].as_s().unwrap() == "sent"));

    // Cancelled: the cancel's mail, then the refund's.
    let bobs = buy(&app, "bob", &[("M", 1)]).await;
    let reply = app
        .post(
            &format!("/orders/{bobs}/cancel"),
            Some(&app.stack.token("bob", false)),
            "",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mails = mails_about(&app, &bobs, 3).await;
    let ids: Vec<&str> = mails.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            format!("{bobs}-OrderCancelled-v2"),
            format!("{bobs}-OrderPlaced-v1"),
            format!("{bobs}-OrderRefunded-v2"),
        ]
    );
    assert_eq!(mails[0]["to"], "bob@shop.test");
    let total = reply.body["total"]["amount"].as_i64().unwrap();
    let refunded = format!("We refunded {}.{:02} USD", total / 100, total % 100);
    assert!(
        mails[2]["text"].as_str().unwrap().contains(&refunded),
        "{}",
        mails[2]["text"]
    );
    app.stop().await;
}
