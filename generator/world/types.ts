/** The simulated shop's entities as the generator keeps them in memory (money in integer cents, times in epoch ms). */

export { Customer, type CustomerFields, type Device } from './customer.ts';

export interface Product {
  id: number;
  sku: string;
  name: string;
  category: string;
  subcategory: string;
  brand: string;
  priceCents: number;
  costCents: number;
  isActive: boolean;
  launchedAt: number;
  createdAt: number;
  updatedAt: number;
  /** Relative popularity (Zipf by a random rank). */
  popularity: number;
  /** List price at launch: price elasticity is measured against it (world/demand.ts). */
  referencePriceCents: number;
  /** Log-growth of this product's demand per year (world/demand.ts). */
  trendPerYear: number;
  /** While a promotion runs: the list price to go back to, and when (epoch ms); else null and 0. */
  regularPriceCents: number | null;
  promotionUntil: number;
}

export interface Stock {
  productId: number;
  onHand: number;
  reorderPoint: number;
  reorderQuantity: number;
  lastRestockedAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Replenishment is ordered when on-hand falls to this level (above the reorder point, so normal stock stays above it). */
  reorderTrigger: number;
  restockPending: boolean;
  /** Restocks suppressed until this time (stock write-off anomaly). */
  holdRestockUntil: number;
}

export type OrderStatus = 'placed' | 'paid' | 'shipped' | 'delivered' | 'cancelled' | 'returned';

export interface OrderItem {
  id: number;
  orderId: number;
  productId: number;
  quantity: number;
  unitPriceCents: number;
  discountCents: number;
  lineTotalCents: number;
  createdAt: number;
  updatedAt: number;
}

export interface Payment {
  id: number;
  orderId: number;
  method: string;
  status: 'authorized' | 'captured' | 'failed' | 'refunded';
  amountCents: number;
  cardFingerprint: string | null;
  ipCountryCode: string | null;
  attemptedAt: number;
  createdAt: number;
  updatedAt: number;
}

export interface Order {
  id: number;
  customerId: number;
  sessionId: string | null;
  status: OrderStatus;
  currency: string;
  subtotalCents: number;
  discountCents: number;
  shippingCents: number;
  taxCents: number;
  totalCents: number;
  shipCountryCode: string;
  shipRegion: string | null;
  shipCity: string;
  shipPostalCode: string | null;
  placedAt: number;
  paidAt: number | null;
  shippedAt: number | null;
  deliveredAt: number | null;
  cancelledAt: number | null;
  returnedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Lifecycle steps still ahead of an order, decided when it is placed. */
export type StepKind = 'pay' | 'payment_failed' | 'cancel' | 'ship' | 'deliver' | 'return';

export interface OpenOrder {
  order: Order;
  items: OrderItem[];
  paymentMethod: string;
  card: string | null;
  ipCountryCode: string;
  /** Failed attempts before the capture (or before giving up). */
  failedAttempts: number;
  captured: Payment | null;
  /** Called with the payment attempts once they are written (anomaly manifest). */
  onPayments?: (payments: Payment[]) => void;
  /** Card fingerprints a failed-payment burst rotates through. */
  burstCards?: string[];
  steps: { kind: StepKind; at: number }[];
  next: number;
}
