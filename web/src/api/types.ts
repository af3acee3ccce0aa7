/**
 * The API's shapes by the names the app uses: aliases onto the types generated from
 * infra/openapi.yaml (./schema.d.ts, `npm run gen:api`), so the contract is the one source.
 */
import type { components, operations } from "./schema";

type Schemas = components["schemas"];
type JsonResponse<Op extends keyof operations> = operations[Op]["responses"] extends { 200: { content: { "application/json": infer T } } }
  ? T
  : never;

export type Money = Schemas["Money"];

export type ProductSummary = Schemas["ProductSummary"];
export type ProductDetail = Schemas["ProductDetail"];

export type SearchHit = Schemas["SearchHit"];
export type Bucket = Schemas["Bucket"];
export type SearchResults = Schemas["SearchResults"];
export type Suggestions = Schemas["Suggestions"];
export type SearchSort = SearchResults["sort"];

export type CategoryNode = Schemas["CategoryNode"];
/** `GET /categories`. */
export type CategoryList = JsonResponse<"listCategories">;
export type CategoryPage = Schemas["CategoryPage"];
export type BrowseSort = CategoryPage["sort"];

/** `GET /products/{productId}/recommendations` (an inline schema in the contract). */
export type Recommendations = JsonResponse<"getRecommendations">;

/** `GET /products/{productId}/reviews`: the rating summary and one page of reviews. */
export type ReviewsPage = JsonResponse<"listReviews">;
export type Review = Schemas["Review"];
export type ReviewInput = Schemas["ReviewInput"];
export type ReviewSort = "newest" | "helpful";
/** `POST /products/{productId}/reviews/{reviewId}/helpful`. */
export type HelpfulVote = JsonResponse<"voteReviewHelpful">;

export type CartLine = Schemas["CartLine"];
export type Cart = Schemas["Cart"];

export type ShippingAddress = Schemas["ShippingAddress"];
export type PlaceOrderInput = Schemas["PlaceOrderInput"];
export type OrderStatus = Schemas["OrderStatus"];
export type PlacedOrder = Schemas["PlacedOrder"];
export type OrderSummary = Schemas["OrderSummary"];
export type OrderPage = Schemas["OrderPage"];
export type OrderDetail = Schemas["OrderDetail"];

/** RFC 9457 problem details, as the contract promises every API error. */
export type ApiProblem = Schemas["Problem"];

/**
 * What the client holds as a problem: any error body (possibly not a conforming one, or
 * made here for a network failure), so every member may be missing; plus the extension
 * members that some codes carry (`available`, `maxPerLine`, `retryAfter`, ...), which the
 * contract describes in prose only.
 */
export type Problem = Partial<ApiProblem> & { [extension: string]: unknown };
