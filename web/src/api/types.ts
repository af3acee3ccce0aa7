/** Response shapes from infra/openapi.yaml (the fields the storefront reads). */

export type Money = { amount: number; currency: string };

export type ProductSummary = {
  productId: string;
  title: string;
  brand: string;
  categoryId: string;
  price: Money;
  rating: number;
  reviewCount: number;
};

export type ProductDetail = ProductSummary & {
  description: string;
  available: number;
  inStock: boolean;
  createdAt: string;
  updatedAt: string;
};

export type SearchHit = ProductSummary & { available: number; inStock: boolean };

export type Bucket = { key: string; count: number };

export type SearchSort = "relevance" | "price_asc" | "price_desc" | "rating" | "newest";

export type SearchResults = {
  products: SearchHit[];
  facets: {
    categories: Bucket[];
    brands: Bucket[];
    priceRanges: Bucket[];
    avgRating: number | null;
  };
  totalCount: number;
  page: number;
  limit: number;
  sort: SearchSort;
  hasMore: boolean;
  degraded: boolean;
};

export type CategoryNode = {
  categoryId: string;
  name: string;
  productCount: number;
  children: CategoryNode[];
};

export type BrowseSort = "rating" | "price_asc" | "price_desc" | "newest";

export type CategoryPage = {
  categoryId: string;
  sort: BrowseSort;
  limit: number;
  products: ProductSummary[];
  hasMore: boolean;
  nextPage: string | null;
};

export type Recommendations = {
  productId: string;
  basis: "alsoBought" | "categoryBestSellers" | "categoryTopRated";
  products: ProductSummary[];
};

export type CartLine = {
  productId: string;
  title: string;
  quantity: number;
  unitPrice: Money;
  lineTotal?: Money;
  reservedUntil: string;
  reserved?: boolean;
};

export type Cart = { items: CartLine[]; subtotal: Money; itemCount: number };

export type ShippingAddress = {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  region?: string;
  postalCode: string;
  country: string;
};

export type PlaceOrderInput = { shippingAddress: ShippingAddress; paymentMethodId: string };

export type OrderStatus = "confirmed" | "packed" | "shipped" | "delivered" | "cancelled";

export type PlacedOrder = {
  orderId: string;
  status: OrderStatus;
  subtotal: Money;
  tax: Money;
  shipping: Money;
  total: Money;
  estimatedDelivery: string;
  createdAt: string;
};

export type OrderSummary = {
  orderId: string;
  status: OrderStatus;
  total: Money;
  itemCount: number;
  createdAt: string;
  estimatedDelivery: string;
};

export type OrderPage = { orders: OrderSummary[]; limit: number; hasMore: boolean; nextPage: string | null };

export type OrderDetail = PlacedOrder & {
  lines: { productId: string; title: string; quantity: number; unitPrice: Money; lineTotal: Money }[];
  shippingAddress: ShippingAddress;
  trackingNumber: string | null;
  refunded: boolean;
  updatedAt: string;
  history: { status: OrderStatus; at: string; trackingNumber?: string }[];
};

/** RFC 9457 problem details, as every API error is sent. */
export type Problem = {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { field: string; message: string }[];
  [extra: string]: unknown;
};
