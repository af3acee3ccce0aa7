import { apiRequest, queryString } from "./client";
import type {
  BrowseSort,
  Cart,
  CartLine,
  CategoryList,
  CategoryPage,
  OrderDetail,
  OrderPage,
  PlacedOrder,
  PlaceOrderInput,
  ProductDetail,
  Recommendations,
  Review,
  ReviewInput,
  ReviewSort,
  ReviewsPage,
  HelpfulVote,
  SearchResults,
  SearchSort,
  Suggestions,
} from "./types";

const enc = encodeURIComponent;

export type SearchParams = {
  q?: string;
  category?: string;
  brand?: string[];
  priceMin?: number;
  priceMax?: number;
  inStock?: boolean;
  ratingMin?: number;
  sort?: SearchSort;
};

export const SEARCH_PAGE_SIZE = 20;

export function search(params: SearchParams, page: number, signal?: AbortSignal): Promise<SearchResults> {
  return apiRequest("GET", `/search${queryString({ ...params, page, limit: SEARCH_PAGE_SIZE })}`, { signal });
}

/** How many suggestions the header's search box shows. */
export const SUGGESTIONS = 8;

export function suggest(q: string, signal?: AbortSignal): Promise<Suggestions> {
  return apiRequest("GET", `/search/suggest${queryString({ q, limit: SUGGESTIONS })}`, { signal });
}

export function getCategories(signal?: AbortSignal): Promise<CategoryList> {
  return apiRequest("GET", "/categories", { signal });
}

export function browseCategory(
  categoryId: string,
  sort: BrowseSort | undefined,
  page: string | undefined,
  signal?: AbortSignal,
): Promise<CategoryPage> {
  return apiRequest("GET", `/categories/${enc(categoryId)}/products${queryString({ sort, page, limit: 24 })}`, { signal });
}

export function getProduct(productId: string, signal?: AbortSignal): Promise<ProductDetail> {
  return apiRequest("GET", `/products/${enc(productId)}`, { signal });
}

export function getRecommendations(productId: string, signal?: AbortSignal): Promise<Recommendations> {
  return apiRequest("GET", `/products/${enc(productId)}/recommendations?limit=10`, { signal });
}

export const REVIEWS_PAGE_SIZE = 5;

export function getReviews(productId: string, sort: ReviewSort, cursor: string | undefined, signal?: AbortSignal): Promise<ReviewsPage> {
  return apiRequest("GET", `/products/${enc(productId)}/reviews${queryString({ sort, cursor, limit: REVIEWS_PAGE_SIZE })}`, { signal });
}

export function writeReview(productId: string, input: ReviewInput): Promise<Review> {
  return apiRequest("POST", `/products/${enc(productId)}/reviews`, { auth: true, body: input });
}

export function voteHelpful(productId: string, reviewId: string): Promise<HelpfulVote> {
  return apiRequest("POST", `/products/${enc(productId)}/reviews/${enc(reviewId)}/helpful`, { auth: true });
}

export function getCart(signal?: AbortSignal): Promise<Cart> {
  return apiRequest("GET", "/cart", { auth: true, signal });
}

export function addCartItem(productId: string, quantity: number): Promise<CartLine> {
  return apiRequest("POST", "/cart/items", { auth: true, body: { productId, quantity } });
}

export function setCartItemQuantity(productId: string, quantity: number): Promise<CartLine> {
  return apiRequest("PATCH", `/cart/items/${enc(productId)}`, { auth: true, body: { quantity } });
}

export function removeCartItem(productId: string): Promise<void> {
  return apiRequest("DELETE", `/cart/items/${enc(productId)}`, { auth: true });
}

export function placeOrder(input: PlaceOrderInput, idempotencyKey: string): Promise<PlacedOrder> {
  return apiRequest("POST", "/orders", { auth: true, body: input, headers: { "idempotency-key": idempotencyKey } });
}

export function listOrders(page: string | undefined, signal?: AbortSignal): Promise<OrderPage> {
  return apiRequest("GET", `/orders${queryString({ page, limit: 20 })}`, { auth: true, signal });
}

export function getOrder(orderId: string, signal?: AbortSignal): Promise<OrderDetail> {
  return apiRequest("GET", `/orders/${enc(orderId)}`, { auth: true, signal });
}

export function cancelOrder(orderId: string): Promise<OrderDetail> {
  return apiRequest("POST", `/orders/${enc(orderId)}/cancel`, { auth: true });
}
