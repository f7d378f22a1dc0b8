/**
 * Entities as rows of the source tables (generator/ddl/shop.sql), in column order. Rows hold
 * SQL-ready primitives: DECIMAL as "12.34" strings, DATETIME(3) as "YYYY-MM-DD HH:MM:SS.mmm" UTC.
 */
import { sqlTime } from './time-format.ts';
import type { Customer, Order, OrderItem, Payment, Product, Stock } from './types.ts';

export type SqlValue = string | number | null;
export type Row = SqlValue[];

export const TABLES = ['customers', 'products', 'inventory', 'orders', 'order_items', 'payments', 'restocks'] as const;
export type TableName = (typeof TABLES)[number];

export const COLUMNS: Readonly<Record<TableName, readonly string[]>> = {
  customers: [
    'customer_id',
    'email',
    'first_name',
    'last_name',
    'phone',
    'country_code',
    'region',
    'city',
    'postal_code',
    'street_address',
    'signup_channel',
    'signed_up_at',
    'created_at',
    'updated_at',
  ],
  products: [
    'product_id',
    'sku',
    'product_name',
    'category',
    'subcategory',
    'brand',
    'price',
    'cost',
    'is_active',
    'launched_at',
    'created_at',
    'updated_at',
  ],
  inventory: ['product_id', 'quantity_on_hand', 'reorder_point', 'reorder_quantity', 'last_restocked_at', 'created_at', 'updated_at'],
  orders: [
    'order_id',
    'customer_id',
    'session_id',
    'status',
    'currency',
    'subtotal_amount',
    'discount_amount',
    'shipping_amount',
    'tax_amount',
    'total_amount',
    'ship_country_code',
    'ship_region',
    'ship_city',
    'ship_postal_code',
    'placed_at',
    'paid_at',
    'shipped_at',
    'delivered_at',
    'cancelled_at',
    'returned_at',
    'created_at',
    'updated_at',
  ],
  order_items: [
    'order_item_id',
    'order_id',
    'product_id',
    'quantity',
    'unit_price',
    'discount_amount',
    'line_total',
    'created_at',
    'updated_at',
  ],
  payments: [
    'payment_id',
    'order_id',
    'payment_method',
    'status',
    'amount',
    'card_fingerprint',
    'ip_country_code',
    'attempted_at',
    'created_at',
    'updated_at',
  ],
  restocks: ['restock_id', 'product_id', 'quantity', 'unit_cost', 'received_at', 'created_at', 'updated_at'],
};

/** Columns an upsert changes (everything but the key and created_at). */
export function updatableColumns(table: TableName): readonly string[] {
  return COLUMNS[table].slice(1).filter((c) => c !== 'created_at');
}

export { sqlTime };

function optTime(ms: number | null): string | null {
  return ms === null ? null : sqlTime(ms);
}

/** Integer cents as a DECIMAL(12,2) literal. */
export function money(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const fraction = abs % 100;
  return `${sign}${(abs - fraction) / 100}.${fraction < 10 ? '0' : ''}${fraction}`;
}

export function customerRow(c: Customer): Row {
  return [
    c.id,
    c.email,
    c.firstName,
    c.lastName,
    c.phone,
    c.countryCode,
    c.region,
    c.city,
    c.postalCode,
    c.streetAddress,
    c.signupChannel,
    sqlTime(c.signedUpAt),
    sqlTime(c.createdAt),
    sqlTime(c.updatedAt),
  ];
}

export function productRow(p: Product): Row {
  return [
    p.id,
    p.sku,
    p.name,
    p.category,
    p.subcategory,
    p.brand,
    money(p.priceCents),
    money(p.costCents),
    p.isActive ? 1 : 0,
    sqlTime(p.launchedAt),
    sqlTime(p.createdAt),
    sqlTime(p.updatedAt),
  ];
}

export function stockRow(s: Stock): Row {
  return [s.productId, s.onHand, s.reorderPoint, s.reorderQuantity, optTime(s.lastRestockedAt), sqlTime(s.createdAt), sqlTime(s.updatedAt)];
}

export function orderRow(o: Order): Row {
  return [
    o.id,
    o.customerId,
    o.sessionId,
    o.status,
    o.currency,
    money(o.subtotalCents),
    money(o.discountCents),
    money(o.shippingCents),
    money(o.taxCents),
    money(o.totalCents),
    o.shipCountryCode,
    o.shipRegion,
    o.shipCity,
    o.shipPostalCode,
    sqlTime(o.placedAt),
    optTime(o.paidAt),
    optTime(o.shippedAt),
    optTime(o.deliveredAt),
    optTime(o.cancelledAt),
    optTime(o.returnedAt),
    sqlTime(o.createdAt),
    sqlTime(o.updatedAt),
  ];
}

export function orderItemRow(i: OrderItem): Row {
  return [
    i.id,
    i.orderId,
    i.productId,
    i.quantity,
    money(i.unitPriceCents),
    money(i.discountCents),
    money(i.lineTotalCents),
    sqlTime(i.createdAt),
    sqlTime(i.updatedAt),
  ];
}

export function paymentRow(p: Payment): Row {
  return [
    p.id,
    p.orderId,
    p.method,
    p.status,
    money(p.amountCents),
    p.cardFingerprint,
    p.ipCountryCode,
    sqlTime(p.attemptedAt),
    sqlTime(p.createdAt),
    sqlTime(p.updatedAt),
  ];
}

export function restockRow(id: number, productId: number, quantity: number, unitCostCents: number, at: number): Row {
  return [id, productId, quantity, money(unitCostCents), sqlTime(at), sqlTime(at), sqlTime(at)];
}
