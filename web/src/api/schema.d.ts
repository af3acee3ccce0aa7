/**
 * Generated from infra/openapi.yaml by openapi-typescript (`npm run gen:api`).
 * Do not edit: change the contract and regenerate; `npm run check:api` fails when this is stale.
 */

export interface paths {
  "/products/{productId}": {
    /** One product with what can be bought now. */
    get: operations["getProduct"];
  };
  "/products/{productId}/recommendations": {
    /**
     * Customers also bought.
     * @description The products bought together with this one most often (basis `alsoBought`); without co-purchases, its category's best sellers (`categoryBestSellers`); without sales there, its category's best rated (`categoryTopRated`). Counts are updated from placed orders through the event pipeline, within seconds.
     */
    get: operations["getRecommendations"];
  };
  "/products/{productId}/reviews": {
    /**
     * A product's reviews and its rating histogram.
     * @description One page of reviews, newest first or most helpful first, with the product's rating, review count and ratings per star count. Ratings follow a written, edited or deleted review through the event pipeline within seconds (docs/reviews.md). A product whose rating came with the catalog counts that rating as its first reviews.
     */
    get: operations["listReviews"];
    /**
     * A buyer writes their review of the product, or replaces the one they wrote.
     * @description Only a shopper with an order of this product that is not cancelled may review it, once per product: writing again replaces the review (200) and keeps its id and helpful votes.
     */
    post: operations["writeReview"];
  };
  "/products/{productId}/reviews/{reviewId}/helpful": {
    /** The shopper found a review helpful (one vote per shopper and review). */
    post: operations["voteReviewHelpful"];
  };
  "/admin/products/{productId}/reviews/{reviewId}": {
    /** Remove a review (admin); the product's rating drops it within seconds. */
    delete: operations["deleteReview"];
  };
  "/categories": {
    /** The category tree with product counts. */
    get: operations["listCategories"];
  };
  "/categories/{categoryId}/products": {
    /** A category's products (including its subcategories'), sorted and paged. */
    get: operations["browseCategory"];
  };
  "/admin/products/{productId}": {
    /** Create or update a product (admin). New products start with no stock. */
    put: operations["putProduct"];
  };
  "/admin/categories/{categoryId}": {
    /** Create a category, or rename one (admin). A new category is a leaf; products go into leaves. */
    put: operations["putCategory"];
  };
  "/admin/products/{productId}/stock": {
    /** Set stock on hand (admin); never below what is reserved or sold. */
    put: operations["putStock"];
  };
  "/cart": {
    /** The caller's cart. */
    get: operations["getCart"];
  };
  "/cart/items": {
    /** Reserve units of a product and add them to the cart (adds to an existing line). */
    post: operations["addCartItem"];
  };
  "/cart/items/{productId}": {
    /** Remove a line and release its reservation. */
    delete: operations["removeCartItem"];
    /** Set a line's quantity, reserving or releasing the difference; renews the reservation (never past an hour from the product's first reservation). */
    patch: operations["updateCartItem"];
  };
  "/orders": {
    /** The caller's orders, newest first. */
    get: operations["listOrders"];
    /**
     * Check out the caller's cart; exactly once per Idempotency-Key.
     * @description Charges the payment provider and creates the order in one go. The same
     * `Idempotency-Key` (scoped to the caller, kept 24 hours after the checkout
     * finished) with the same body answers the first response again, byte for byte,
     * with `Idempotent-Replayed: true`. A checkout that died half-way is finished by
     * the caller's retry with the same key, or after a few minutes by the shop's
     * reconciler, whose answer the retry then gets.
     */
    post: operations["placeOrder"];
  };
  "/orders/{orderId}": {
    /** One of the caller's orders with lines, totals, address and status history. */
    get: operations["getOrder"];
  };
  "/orders/{orderId}/cancel": {
    /** The owner cancels before shipping; the units return to stock and the charge is refunded. */
    post: operations["cancelOrder"];
  };
  "/admin/orders/{orderId}/status": {
    /** Record a fulfilment step (admin): confirmed → packed → shipped (trackingNumber) → delivered. */
    post: operations["setOrderStatus"];
  };
  "/search/suggest": {
    /** Products for the words typed so far: the search's semantics, the last word also matching the start of a title word. */
    get: operations["suggest"];
  };
  "/search": {
    /** Fuzzy product search with filters and facets. */
    get: operations["search"];
  };
}

export type webhooks = Record<string, never>;

export interface components {
  schemas: {
    ProductId: string;
    CategoryId: string;
    Money: {
      /** @description Minor units (cents). */
      amount: number;
      currency: string;
    };
    Problem: {
      type: string;
      title: string;
      status: number;
      detail: string;
      /** @description Stable machine-readable code, e.g. VALIDATION_FAILED, MALFORMED_JSON, NOT_FOUND, UNAUTHORIZED, FORBIDDEN, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, STOCK_BELOW_COMMITTED, INSUFFICIENT_INVENTORY, PAYMENT_FAILED, RESERVATION_EXPIRED, CART_EMPTY, CART_CHANGED, IDEMPOTENCY_KEY_IN_USE, IDEMPOTENCY_KEY_REUSED, CHECKOUT_INTERRUPTED, HOLD_LIMIT_REACHED, ORDER_NOT_CANCELLABLE, ILLEGAL_STATUS_TRANSITION, SERVICE_UNAVAILABLE. */
      code: string;
      errors?: {
          field: string;
          message: string;
        }[];
    };
    ProductSummary: {
      productId: components["schemas"]["ProductId"];
      title: string;
      brand: string;
      categoryId: components["schemas"]["CategoryId"];
      price: components["schemas"]["Money"];
      rating: number;
      reviewCount: number;
    };
    ProductDetail: components["schemas"]["ProductSummary"] & {
      description: string;
      /** @description Units that can be put in a cart now. */
      available: number;
      inStock: boolean;
      /** Format: date-time */
      createdAt: string;
      /** Format: date-time */
      updatedAt: string;
    };
    CategoryNode: {
      categoryId: components["schemas"]["CategoryId"];
      name: string;
      /** @description Products in this category and all below it. */
      productCount: number;
      children: components["schemas"]["CategoryNode"][];
    };
    CategoryPage: {
      categoryId: components["schemas"]["CategoryId"];
      /** @enum {string} */
      sort: "rating" | "price_asc" | "price_desc" | "newest";
      limit: number;
      products: components["schemas"]["ProductSummary"][];
      hasMore: boolean;
      /** @description Opaque token; pass it as `page` for the next page. Null on the last page. */
      nextPage: string | null;
    };
    CategoryInput: {
      name: string;
      parentId?: components["schemas"]["CategoryId"];
    };
    AdminCategory: {
      categoryId: components["schemas"]["CategoryId"];
      name: string;
      parentId: components["schemas"]["CategoryId"] | null;
      /** @description Whether products can go in it. */
      isLeaf: boolean;
      productCount: number;
    };
    ProductInput: {
      title: string;
      description?: string;
      brand: string;
      /** @description A leaf category. */
      categoryId: components["schemas"]["CategoryId"];
      price: {
        amount: number;
        /** @enum {string} */
        currency: "USD";
      };
    };
    CartLine: {
      productId: components["schemas"]["ProductId"];
      title: string;
      quantity: number;
      unitPrice: components["schemas"]["Money"];
      lineTotal: components["schemas"]["Money"];
      /**
       * Format: date-time
       * @description The stock is held until then (30 minutes after the last change).
       */
      reservedUntil: string;
      /** @description False once reservedUntil has passed. */
      reserved: boolean;
    };
    Cart: {
      items: components["schemas"]["CartLine"][];
      subtotal: components["schemas"]["Money"];
      /** @description Units in lines that still hold their stock. */
      itemCount: number;
    };
    AddCartItemInput: {
      productId: components["schemas"]["ProductId"];
      quantity: number;
    };
    SetQuantityInput: {
      quantity: number;
    };
    StockInput: {
      onHand: number;
      /** @description Split the stock over this many shard items (for hot products; default keeps the current count, 1 for a new product). */
      shards?: number;
    };
    StockLevel: {
      productId: components["schemas"]["ProductId"];
      onHand: number;
      available: number;
      reserved: number;
      sold: number;
      inStock: boolean;
      /** @description The shard count now in force. */
      shards: number;
      /** @description Shard items beyond the count kept until the cart lines they back are released. */
      drainingShards: number;
    };
    OrderId: string;
    /** @enum {string} */
    OrderStatus: "confirmed" | "packed" | "shipped" | "delivered" | "cancelled";
    ShippingAddress: {
      name: string;
      line1: string;
      /** @description Leave it out when there is none. */
      line2?: string;
      city: string;
      /** @description Leave it out when there is none. */
      region?: string;
      postalCode: string;
      /** @description ISO 3166-1 alpha-2. */
      country: string;
    };
    PlaceOrderInput: {
      shippingAddress: components["schemas"]["ShippingAddress"];
      /**
       * @description A payment method id. Test ids: pm_card_visa (succeeds), pm_card_chargeDeclined,
       * pm_card_chargeDeclinedInsufficientFunds (declined), and with the simulated provider
       * pm_card_simulatedTimeout (the provider does not answer).
       */
      paymentMethodId: string;
    };
    PlacedOrder: {
      orderId: components["schemas"]["OrderId"];
      status: components["schemas"]["OrderStatus"];
      subtotal: components["schemas"]["Money"];
      /** @description 8% of the subtotal, rounded half-up to the cent. */
      tax: components["schemas"]["Money"];
      /** @description Free when the subtotal is over $50.00, else $5.99. */
      shipping: components["schemas"]["Money"];
      total: components["schemas"]["Money"];
      /**
       * Format: date
       * @description Five business days after the order.
       */
      estimatedDelivery: string;
      /** Format: date-time */
      createdAt: string;
    };
    OrderSummary: {
      orderId: components["schemas"]["OrderId"];
      status: components["schemas"]["OrderStatus"];
      total: components["schemas"]["Money"];
      itemCount: number;
      /** Format: date-time */
      createdAt: string;
      /** Format: date */
      estimatedDelivery: string;
    };
    OrderPage: {
      orders: components["schemas"]["OrderSummary"][];
      limit: number;
      hasMore: boolean;
      /** @description Opaque token; pass it as `page` for the next page. Null on the last page. */
      nextPage: string | null;
    };
    OrderDetail: components["schemas"]["PlacedOrder"] & ({
      lines: {
          productId: components["schemas"]["ProductId"];
          title: string;
          quantity: number;
          unitPrice: components["schemas"]["Money"];
          lineTotal: components["schemas"]["Money"];
        }[];
      shippingAddress: components["schemas"]["ShippingAddress"];
      trackingNumber: string | null;
      /** @description The charge was refunded (after a cancel). */
      refunded: boolean;
      /** Format: date-time */
      updatedAt: string;
      history: {
          status: components["schemas"]["OrderStatus"];
          /** Format: date-time */
          at: string;
          trackingNumber?: string;
        }[];
    });
    ReviewId: string;
    ReviewInput: {
      rating: number;
      /** @description Trimmed; not blank, no control characters. */
      title: string;
      /** @description Trimmed; not blank; newlines allowed, no other control characters. */
      body: string;
    };
    Review: {
      reviewId: components["schemas"]["ReviewId"];
      productId: components["schemas"]["ProductId"];
      rating: number;
      title: string;
      body: string;
      /** @description Shoppers who found it helpful. */
      helpful: number;
      /**
       * @description Only buyers can write one.
       * @constant
       */
      verifiedPurchase: true;
      /** Format: date-time */
      createdAt: string;
      /** Format: date-time */
      updatedAt: string;
    };
    StatusInput: {
      /** @enum {string} */
      status: "packed" | "shipped" | "delivered";
      /** @description Required with shipped, and only then. */
      trackingNumber?: string;
    };
    SearchHit: components["schemas"]["ProductSummary"] & {
      available: number;
      inStock: boolean;
    };
    Bucket: {
      key: string;
      count: number;
    };
    Suggestions: {
      /** @description The words the suggestions are for, trimmed (empty when none were given). */
      query: string;
      /** @description Best first (the search's relevance order). */
      suggestions: components["schemas"]["SearchHit"][];
      /** @description The search backend is down: no suggestions, try again later. */
      degraded: boolean;
    };
    SearchResults: {
      products: components["schemas"]["SearchHit"][];
      facets: {
        /** @description Leaf categories of every match, most first. */
        categories: components["schemas"]["Bucket"][];
        brands: components["schemas"]["Bucket"][];
        /** @description Under $25, $25-$50, $50-$100, Over $100 (each range includes its lower bound). */
        priceRanges: components["schemas"]["Bucket"][];
        avgRating: number | null;
      };
      totalCount: number;
      page: number;
      limit: number;
      /** @enum {string} */
      sort: "relevance" | "price_asc" | "price_desc" | "rating" | "newest";
      hasMore: boolean;
      /**
       * @description True when the search backend is down: the products come from category browse
       * (text ignored, other filters applied to the page, no facets, totalCount counts this page).
       */
      degraded: boolean;
    };
  };
  responses: {
    /** @description Malformed JSON, or fields or parameters out of range. */
    BadRequest: {
      content: {
        "application/problem+json": components["schemas"]["Problem"];
      };
    };
    /** @description No valid bearer token. */
    Unauthorized: {
      content: {
        "application/problem+json": components["schemas"]["Problem"];
      };
    };
    /** @description A valid token without the admin group. */
    Forbidden: {
      content: {
        "application/problem+json": components["schemas"]["Problem"];
      };
    };
    /** @description Unknown resource. */
    NotFound: {
      content: {
        "application/problem+json": components["schemas"]["Problem"];
      };
    };
    /** @description The body is over 64 KiB. */
    PayloadTooLarge: {
      content: {
        "application/problem+json": components["schemas"]["Problem"];
      };
    };
    /** @description The body is not declared as JSON. */
    UnsupportedMediaType: {
      content: {
        "application/problem+json": components["schemas"]["Problem"];
      };
    };
    /** @description A dependency is down; retry after `Retry-After` seconds. */
    Unavailable: {
      headers: {
        "Retry-After"?: number;
      };
      content: {
        "application/problem+json": components["schemas"]["Problem"];
      };
    };
  };
  parameters: {
    productId: components["schemas"]["ProductId"];
    categoryId: components["schemas"]["CategoryId"];
    orderId: components["schemas"]["OrderId"];
    reviewId: components["schemas"]["ReviewId"];
  };
  requestBodies: never;
  headers: {
    /** @description The request's correlation id (echoed, or the API Gateway request id). */
    correlationId: string;
  };
  pathItems: never;
}

export type $defs = Record<string, never>;

export type external = Record<string, never>;

export interface operations {

  /** One product with what can be bought now. */
  getProduct: {
    parameters: {
      path: {
        productId: components["parameters"]["productId"];
      };
    };
    responses: {
      /** @description The product. */
      200: {
        headers: {
          "x-correlation-id": components["headers"]["correlationId"];
        };
        content: {
          "application/json": components["schemas"]["ProductDetail"];
        };
      };
      400: components["responses"]["BadRequest"];
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
  /**
   * Customers also bought.
   * @description The products bought together with this one most often (basis `alsoBought`); without co-purchases, its category's best sellers (`categoryBestSellers`); without sales there, its category's best rated (`categoryTopRated`). Counts are updated from placed orders through the event pipeline, within seconds.
   */
  getRecommendations: {
    parameters: {
      query?: {
        limit?: number;
      };
      path: {
        productId: components["parameters"]["productId"];
      };
    };
    responses: {
      /** @description Product summaries, best first. */
      200: {
        headers: {
          "x-correlation-id": components["headers"]["correlationId"];
        };
        content: {
          "application/json": {
            productId: string;
            /** @enum {string} */
            basis: "alsoBought" | "categoryBestSellers" | "categoryTopRated";
            products: components["schemas"]["ProductSummary"][];
          };
        };
      };
      400: components["responses"]["BadRequest"];
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
  /**
   * A product's reviews and its rating histogram.
   * @description One page of reviews, newest first or most helpful first, with the product's rating, review count and ratings per star count. Ratings follow a written, edited or deleted review through the event pipeline within seconds (docs/reviews.md). A product whose rating came with the catalog counts that rating as its first reviews.
   */
  listReviews: {
    parameters: {
      query?: {
        sort?: "newest" | "helpful";
        limit?: number;
        /** @description The previous page's `nextCursor`, with the same `sort`. */
        cursor?: string;
      };
      path: {
        productId: components["parameters"]["productId"];
      };
    };
    responses: {
      /** @description The rating summary and one page of reviews. */
      200: {
        headers: {
          "x-correlation-id": components["headers"]["correlationId"];
        };
        content: {
          "application/json": {
            productId: components["schemas"]["ProductId"];
            rating: number;
            reviewCount: number;
            /** @description Ratings per star count. */
            histogram: {
              1: number;
              2: number;
              3: number;
              4: number;
              5: number;
            };
            reviews: components["schemas"]["Review"][];
            /** @description Absent on the last page. */
            nextCursor?: string;
          };
        };
      };
      400: components["responses"]["BadRequest"];
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
  /**
   * A buyer writes their review of the product, or replaces the one they wrote.
   * @description Only a shopper with an order of this product that is not cancelled may review it, once per product: writing again replaces the review (200) and keeps its id and helpful votes.
   */
  writeReview: {
    parameters: {
      path: {
        productId: components["parameters"]["productId"];
      };
    };
    requestBody: {
      content: {
        "application/json": components["schemas"]["ReviewInput"];
      };
    };
    responses: {
      /** @description The shopper's review, replaced. */
      200: {
        content: {
          "application/json": components["schemas"]["Review"];
        };
      };
      /** @description The shopper's review, new. */
      201: {
        content: {
          "application/json": components["schemas"]["Review"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      /** @description `NOT_A_BUYER` (carries `productId`): no order of this product that is not cancelled. */
      403: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      404: components["responses"]["NotFound"];
      413: components["responses"]["PayloadTooLarge"];
      415: components["responses"]["UnsupportedMediaType"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** The shopper found a review helpful (one vote per shopper and review). */
  voteReviewHelpful: {
    parameters: {
      path: {
        productId: components["parameters"]["productId"];
        reviewId: components["parameters"]["reviewId"];
      };
    };
    responses: {
      /** @description The review's helpful votes; `counted` is false when the shopper had voted before. */
      200: {
        content: {
          "application/json": {
            reviewId: components["schemas"]["ReviewId"];
            helpful: number;
            counted: boolean;
          };
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      /** @description `OWN_REVIEW`: shoppers cannot vote for their own review. */
      403: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** Remove a review (admin); the product's rating drops it within seconds. */
  deleteReview: {
    parameters: {
      path: {
        productId: components["parameters"]["productId"];
        reviewId: components["parameters"]["reviewId"];
      };
    };
    responses: {
      /** @description Removed. */
      204: {
        content: never;
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      403: components["responses"]["Forbidden"];
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** The category tree with product counts. */
  listCategories: {
    responses: {
      /** @description Departments with their subcategories, sorted by name. */
      200: {
        content: {
          "application/json": {
            categories: components["schemas"]["CategoryNode"][];
          };
        };
      };
      400: components["responses"]["BadRequest"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** A category's products (including its subcategories'), sorted and paged. */
  browseCategory: {
    parameters: {
      query?: {
        sort?: "rating" | "price_asc" | "price_desc" | "newest";
        limit?: number;
        /** @description The `nextPage` token of the previous page. */
        page?: string;
      };
      path: {
        categoryId: components["parameters"]["categoryId"];
      };
    };
    responses: {
      /** @description One page. */
      200: {
        content: {
          "application/json": components["schemas"]["CategoryPage"];
        };
      };
      400: components["responses"]["BadRequest"];
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** Create or update a product (admin). New products start with no stock. */
  putProduct: {
    parameters: {
      path: {
        productId: components["parameters"]["productId"];
      };
    };
    requestBody: {
      content: {
        "application/json": components["schemas"]["ProductInput"];
      };
    };
    responses: {
      /** @description Updated. */
      200: {
        content: {
          "application/json": components["schemas"]["ProductDetail"];
        };
      };
      /** @description Created. */
      201: {
        content: {
          "application/json": components["schemas"]["ProductDetail"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      403: components["responses"]["Forbidden"];
      413: components["responses"]["PayloadTooLarge"];
      415: components["responses"]["UnsupportedMediaType"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** Create a category, or rename one (admin). A new category is a leaf; products go into leaves. */
  putCategory: {
    parameters: {
      path: {
        categoryId: components["parameters"]["categoryId"];
      };
    };
    requestBody: {
      content: {
        "application/json": components["schemas"]["CategoryInput"];
      };
    };
    responses: {
      /** @description Renamed. */
      200: {
        content: {
          "application/json": components["schemas"]["AdminCategory"];
        };
      };
      /** @description Created. */
      201: {
        content: {
          "application/json": components["schemas"]["AdminCategory"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      403: components["responses"]["Forbidden"];
      /** @description `CATEGORY_HOLDS_PRODUCTS`: the parent is a leaf that holds products, so it cannot get a subcategory; `CATEGORY_CANNOT_MOVE`: the category exists under another parent. Both carry `parentId`. */
      409: {
        content: {
          "application/problem+json": components["schemas"]["Problem"] & ({
            parentId?: components["schemas"]["CategoryId"] | null;
          });
        };
      };
      413: components["responses"]["PayloadTooLarge"];
      415: components["responses"]["UnsupportedMediaType"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** Set stock on hand (admin); never below what is reserved or sold. */
  putStock: {
    parameters: {
      path: {
        productId: components["parameters"]["productId"];
      };
    };
    requestBody: {
      content: {
        "application/json": components["schemas"]["StockInput"];
      };
    };
    responses: {
      /** @description The product's stock after the change. */
      200: {
        content: {
          "application/json": components["schemas"]["StockLevel"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      403: components["responses"]["Forbidden"];
      404: components["responses"]["NotFound"];
      /** @description `STOCK_BELOW_COMMITTED`: fewer units than are reserved or sold; carries `requested` and `committed`. */
      409: {
        content: {
          "application/problem+json": components["schemas"]["Problem"] & {
            requested: number;
            committed: number;
          };
        };
      };
      413: components["responses"]["PayloadTooLarge"];
      415: components["responses"]["UnsupportedMediaType"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** The caller's cart. */
  getCart: {
    responses: {
      /** @description The cart; lines whose reservation ran out show `reserved` false and are not in the subtotal. */
      200: {
        content: {
          "application/json": components["schemas"]["Cart"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** Reserve units of a product and add them to the cart (adds to an existing line). */
  addCartItem: {
    requestBody: {
      content: {
        "application/json": components["schemas"]["AddCartItemInput"];
      };
    };
    responses: {
      /** @description The line after the change, with its new `reservedUntil`. */
      201: {
        content: {
          "application/json": components["schemas"]["CartLine"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      404: components["responses"]["NotFound"];
      /**
       * @description `INSUFFICIENT_INVENTORY` (carries `available` and `requested`), `LINE_QUANTITY_LIMIT`
       * (carries `maxPerLine` and `inCart`), `CART_FULL` (carries `maxLines`) or
       * `HOLD_LIMIT_REACHED` (carries `maxHoldMinutes` and `retryAfter`: the caller has held this
       * product for the longest time a shopper may, removing and adding the line again included;
       * it is on sale to others until `retryAfter`). Nothing changed.
       */
      409: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      413: components["responses"]["PayloadTooLarge"];
      415: components["responses"]["UnsupportedMediaType"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** Remove a line and release its reservation. */
  removeCartItem: {
    parameters: {
      path: {
        productId: components["parameters"]["productId"];
      };
    };
    responses: {
      /** @description Removed. */
      204: {
        content: never;
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** Set a line's quantity, reserving or releasing the difference; renews the reservation (never past an hour from the product's first reservation). */
  updateCartItem: {
    parameters: {
      path: {
        productId: components["parameters"]["productId"];
      };
    };
    requestBody: {
      content: {
        "application/json": components["schemas"]["SetQuantityInput"];
      };
    };
    responses: {
      /** @description The line after the change. */
      200: {
        content: {
          "application/json": components["schemas"]["CartLine"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      404: components["responses"]["NotFound"];
      /**
       * @description `INSUFFICIENT_INVENTORY` (carries `available` and `requested`): the increase cannot be
       * reserved; or `HOLD_LIMIT_REACHED` (carries `maxHoldMinutes` and `retryAfter`): the line
       * cannot be renewed past the hold's cap. Nothing changed.
       */
      409: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      413: components["responses"]["PayloadTooLarge"];
      415: components["responses"]["UnsupportedMediaType"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** The caller's orders, newest first. */
  listOrders: {
    parameters: {
      query?: {
        page?: string;
        limit?: number;
      };
    };
    responses: {
      /** @description A page of orders. */
      200: {
        content: {
          "application/json": components["schemas"]["OrderPage"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      503: components["responses"]["Unavailable"];
    };
  };
  /**
   * Check out the caller's cart; exactly once per Idempotency-Key.
   * @description Charges the payment provider and creates the order in one go. The same
   * `Idempotency-Key` (scoped to the caller, kept 24 hours after the checkout
   * finished) with the same body answers the first response again, byte for byte,
   * with `Idempotent-Replayed: true`. A checkout that died half-way is finished by
   * the caller's retry with the same key, or after a few minutes by the shop's
   * reconciler, whose answer the retry then gets.
   */
  placeOrder: {
    parameters: {
      header: {
        /** @description A unique key per checkout attempt (a UUID); reuse it to retry safely. 1 to 255 printable ASCII characters, no spaces. */
        "Idempotency-Key": string;
      };
    };
    requestBody: {
      content: {
        "application/json": components["schemas"]["PlaceOrderInput"];
      };
    };
    responses: {
      /** @description The order (or, with `Idempotent-Replayed`, the first answer for this key). */
      201: {
        headers: {
          "Idempotent-Replayed"?: "true";
        };
        content: {
          "application/json": components["schemas"]["PlacedOrder"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      /** @description `PAYMENT_FAILED` (carries `declineCode`): the card was declined; cart and reservations are untouched. */
      402: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      /**
       * @description `RESERVATION_EXPIRED` (carries `productIds`; nothing charged), `CART_EMPTY`,
       * `CART_CHANGED` (the cart changed during checkout; the charge was refunded),
       * `IDEMPOTENCY_KEY_IN_USE` (a request with this key is still running; retry shortly), or
       * `CHECKOUT_INTERRUPTED` (the checkout died half-way and nobody retried it within minutes;
       * the reconciler settled it without an order: nothing was charged, or the charge was
       * refunded; place the order again with a new key).
       */
      409: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      413: components["responses"]["PayloadTooLarge"];
      415: components["responses"]["UnsupportedMediaType"];
      /** @description `IDEMPOTENCY_KEY_REUSED`: this key was used with a different body. */
      422: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      503: components["responses"]["Unavailable"];
    };
  };
  /** One of the caller's orders with lines, totals, address and status history. */
  getOrder: {
    parameters: {
      path: {
        orderId: components["parameters"]["orderId"];
      };
    };
    responses: {
      /** @description The order. */
      200: {
        content: {
          "application/json": components["schemas"]["OrderDetail"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** The owner cancels before shipping; the units return to stock and the charge is refunded. */
  cancelOrder: {
    parameters: {
      path: {
        orderId: components["parameters"]["orderId"];
      };
    };
    responses: {
      /** @description The cancelled order (repeating the call is harmless). */
      200: {
        content: {
          "application/json": components["schemas"]["OrderDetail"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      404: components["responses"]["NotFound"];
      /** @description `ORDER_NOT_CANCELLABLE` (carries `orderStatus`): already shipped or delivered. */
      409: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      503: components["responses"]["Unavailable"];
    };
  };
  /** Record a fulfilment step (admin): confirmed → packed → shipped (trackingNumber) → delivered. */
  setOrderStatus: {
    parameters: {
      path: {
        orderId: components["parameters"]["orderId"];
      };
    };
    requestBody: {
      content: {
        "application/json": components["schemas"]["StatusInput"];
      };
    };
    responses: {
      /** @description The order after the change. */
      200: {
        content: {
          "application/json": components["schemas"]["OrderDetail"];
        };
      };
      400: components["responses"]["BadRequest"];
      401: components["responses"]["Unauthorized"];
      403: components["responses"]["Forbidden"];
      404: components["responses"]["NotFound"];
      /** @description `ILLEGAL_STATUS_TRANSITION` (carries `from` and `to`). */
      409: {
        content: {
          "application/problem+json": components["schemas"]["Problem"];
        };
      };
      413: components["responses"]["PayloadTooLarge"];
      415: components["responses"]["UnsupportedMediaType"];
      503: components["responses"]["Unavailable"];
    };
  };
  /** Products for the words typed so far: the search's semantics, the last word also matching the start of a title word. */
  suggest: {
    parameters: {
      query?: {
        /** @description The words typed so far; each may be misspelt as in /search, and the last one (2 characters or more) may be unfinished. Missing, blank or only punctuation: no suggestions. */
        q?: string;
        limit?: number;
      };
    };
    responses: {
      /** @description The best matches, at most `limit`; empty and `degraded` when the search backend is down. */
      200: {
        content: {
          "application/json": components["schemas"]["Suggestions"];
        };
      };
      400: components["responses"]["BadRequest"];
    };
  };
  /** Fuzzy product search with filters and facets. */
  search: {
    parameters: {
      query?: {
        /** @description Words to find in titles; each may be misspelt (edit distance 1 for 3–5 letters, 2 beyond). */
        q?: string;
        /** @description A category; includes every category below it. */
        category?: components["schemas"]["CategoryId"];
        /** @description Repeatable (`brand=A&brand=B`): any of these brands. */
        brand?: string[];
        /** @description Cents, inclusive; not more than priceMax. */
        priceMin?: number;
        /** @description Cents, inclusive. */
        priceMax?: number;
        inStock?: boolean;
        /** @description Only products rated this many stars or more (4 = 4.0 and up). */
        ratingMin?: number;
        sort?: "relevance" | "price_asc" | "price_desc" | "rating" | "newest";
        page?: number;
        limit?: number;
      };
    };
    responses: {
      /** @description A page of hits with facets over every match. */
      200: {
        content: {
          "application/json": components["schemas"]["SearchResults"];
        };
      };
      400: components["responses"]["BadRequest"];
      404: components["responses"]["NotFound"];
      503: components["responses"]["Unavailable"];
    };
  };
}
