//! `GET /orders/{orderId}`: one of the caller's orders with its lines,
//! totals, address and status history. Another user's order is 404.

use shop_domain::order::OrderId;
use shop_edge::http::{self, Body, Identity, Request, Response, StatusCode};
use shop_edge::problem::ApiError;
use shop_store::orders::{OrderReader, own_order};

pub async fn handle(store: &impl OrderReader, req: Request) -> Response<Body> {
    http::respond(req, |req| get_order(store, req)).await
}

shop_edge::function!(GetOrder, Request => Response<Body>, handle);

async fn get_order(store: &impl OrderReader, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Identity::from_request(&req)?;
    http::only_query_params(&req, &[])?;
    let id = http::path_param(&req, "orderId", OrderId::parse)?;
    let (order, history) = own_order(store, &shopper.user_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("order", &id))?;
    Ok(http::json(StatusCode::OK, &order.detail_view(&history)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_domain::ids::UserId;
    use shop_edge::http::Method;
    use shop_edge::testing::{TestRequest, answer};
    use shop_store::fake::{FakeStore, sample_order};

    fn at() -> shop_domain::time::Timestamp {
        shop_domain::time::parse("2026-12-01T10:00:00Z").unwrap()
    }

    fn get(order: &OrderId, user: &str) -> Request {
        TestRequest::new(Method::GET, &format!("/orders/{order}"))
            .path_param("orderId", order.as_str())
            .as_user(user)
            .build()
    }

    #[tokio::test]
    async fn the_owner_reads_the_order_with_its_history() {
        let order = sample_order(&UserId::parse("ada").unwrap(), 1, at());
        let store = FakeStore::at(at()).with_order(order.clone());
        let (status, body) = answer(&handle(&store, get(&order.id, "ada")).await);
        assert_eq!(status, 200);
        assert_eq!(body["orderId"], order.id.as_str());
        assert_eq!(body["total"]["amount"], 2759);
        assert_eq!(body["history"][0]["status"], "confirmed");
    }

    #[tokio::test]
    async fn another_users_order_is_not_found_like_an_unknown_one() {
        let order = sample_order(&UserId::parse("ada").unwrap(), 1, at());
        let store = FakeStore::at(at()).with_order(order.clone());
        let (status, foreign) = answer(&handle(&store, get(&order.id, "bob")).await);
        assert_eq!(status, 404);
        let unknown = OrderId::derive(&[9; 32]);
        let (_, missing) = answer(&handle(&store, get(&unknown, "ada")).await);
        assert_eq!(foreign["code"], missing["code"]);
    }

    #[tokio::test]
    async fn without_a_token_it_is_401() {
        let order = sample_order(&UserId::parse("ada").unwrap(), 1, at());
        let store = FakeStore::at(at()).with_order(order.clone());
        let request = TestRequest::new(Method::GET, "/orders/x")
            .path_param("orderId", order.id.as_str())
            .build();
        assert_eq!(answer(&handle(&store, request).await).0, 401);
    }
}
