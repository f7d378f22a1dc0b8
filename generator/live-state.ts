/**
 * Loads the shop's current state from MariaDB so --live continues it: next ids from MAX(id),
 * customers, products (popularity from what has sold), stock, and the orders still in flight
 * with their remaining lifecycle steps. Whatever wrote the rows (a backfill or another
 * application), live mode only needs the tables of generator/ddl/shop.sql.
 */
import type mysql from 'mysql2/promise';

import type { Proportions } from './params.ts';
import { Rng } from './random.ts';
import { countrySpec } from './world/geography.ts';
import type { OrderShapes } from './world/orders.ts';
import { pickDevice } from './world/people.ts';
import type { NextIds } from './world/shop.ts';
import { Customer } from './world/customer.ts';
import type { OpenOrder, Order, OrderItem, OrderStatus, Payment, Product, Stock } from './world/types.ts';

type DbRow = mysql.RowDataPacket;

const ms = (value: unknown): number => Date.parse(`${String(value).replace(' ', 'T')}Z`);
const optMs = (value: unknown): number | null => (value === null || value === undefined ? null : ms(value));
const cents = (value: unknown): number => Math.round(Number(value) * 100);
const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export interface LiveState {
  next: NextIds;
  customers: Customer[];
  products: Product[];
  stock: Stock[];
  open: OpenOrder[];
}

async function query(connection: mysql.Connection, sql: string): Promise<DbRow[]> {
  const [rows] = await connection.query<DbRow[]>(sql);
  return rows;
}

export async function nextIds(connection: mysql.Connection): Promise<NextIds> {
  const [row] = await query(
    connection,
    `SELECT
    (SELECT COALESCE(MAX(customer_id), 0) FROM customers) AS customer,
    (SELECT COALESCE(MAX(product_id), 0) FROM products) AS product,
    (SELECT COALESCE(MAX(order_id), 0) FROM orders) AS orders,
    (SELECT COALESCE(MAX(order_item_id), 0) FROM order_items) AS order_item,
    (SELECT COALESCE(MAX(payment_id), 0) FROM payments) AS payment,
    (SELECT COALESCE(MAX(restock_id), 0) FROM restocks) AS restock`,
  );
  return {
    customer: Number(row!.customer) + 1,
    product: Number(row!.product) + 1,
    order: Number(row!.orders) + 1,
    orderItem: Number(row!.order_item) + 1,
    payment: Number(row!.payment) + 1,
    restock: Number(row!.restock) + 1,
  };
}

export async function loadLiveState(
  connection: mysql.Connection,
  seed: number,
  p: Proportions,
  shapes: OrderShapes,
  nowMs: number,
): Promise<LiveState> {
  const next = await nextIds(connection);

  const customers = (await query(connection, 'SELECT * FROM customers ORDER BY customer_id')).map((r) => {
    // What the database does not hold (cookie, device, cards) is derived from the id, so it is stable across runs.
    const rng = new Rng(seed, 'customer', Number(r.customer_id));
    const version = /\.(\d+)@/.exec(String(r.email))?.[1];
    return new Customer({
      id: Number(r.customer_id),
      email: String(r.email),
      firstName: String(r.first_name),
      lastName: String(r.last_name),
      phone: str(r.phone),
      countryCode: String(r.country_code),
      region: str(r.region),
      city: String(r.city),
      postalCode: str(r.postal_code),
      streetAddress: str(r.street_address),
      signupChannel: String(r.signup_channel),
      signedUpAt: ms(r.signed_up_at),
      createdAt: ms(r.created_at),
      updatedAt: ms(r.updated_at),
      anonymousId: rng.uuid(),
      device: pickDevice(rng),
      cards: [rng.hex(8)],
      emailVersion: version ? Number(version) : 0,
    });
  });

  // Popularity continues from sales so far: rank by units sold, Zipf weight by rank.
  const sold = new Map(
    (await query(connection, 'SELECT product_id, SUM(quantity) AS units FROM order_items GROUP BY product_id')).map((r) => [
      Number(r.product_id),
      Number(r.units),
    ]),
  );
  const productRows = await query(connection, 'SELECT * FROM products ORDER BY product_id');
  const ranked = [...productRows].sort(
    (a, b) => (sold.get(Number(b.product_id)) ?? 0) - (sold.get(Number(a.product_id)) ?? 0) || Number(a.product_id) - Number(b.product_id),
  );
  const rank = new Map(ranked.map((r, i) => [Number(r.product_id), i + 1]));
  const products = productRows.map((r): Product => ({
    id: Number(r.product_id),
    sku: String(r.sku),
    name: String(r.product_name),
    category: String(r.category),
    subcategory: String(r.subcategory),
    brand: String(r.brand),
    priceCents: cents(r.price),
    costCents: cents(r.cost),
    isActive: Number(r.is_active) === 1,
    launchedAt: ms(r.launched_at),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
    popularity: 1 / Math.pow(rank.get(Number(r.product_id))!, p.productZipfExponent),
    // Live mode weighs demand from here on: today's price is the reference, no trend, no promotion.
    referencePriceCents: cents(r.price),
    trendPerYear: 0,
    regularPriceCents: null,
    promotionUntil: 0,
  }));

  const stock = (await query(connection, 'SELECT * FROM inventory')).map((r): Stock => ({
    productId: Number(r.product_id),
    onHand: Number(r.quantity_on_hand),
    reorderPoint: Number(r.reorder_point),
    reorderQuantity: Number(r.reorder_quantity),
    reorderTrigger: Number(r.reorder_point) + Math.ceil(Math.max(0, Number(r.reorder_quantity) - 20) * (8 / 30)),
    lastRestockedAt: optMs(r.last_restocked_at),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
    restockPending: false,
    holdRestockUntil: 0,
  }));

  const open = await loadOpenOrders(connection, seed, shapes, nowMs);
  return { next, customers, products, stock, open };
}

async function loadOpenOrders(connection: mysql.Connection, seed: number, shapes: OrderShapes, nowMs: number): Promise<OpenOrder[]> {
  const orderRows = await query(connection, "SELECT * FROM orders WHERE status IN ('placed', 'paid', 'shipped') ORDER BY order_id");
  if (orderRows.length === 0) return [];
  const ids = orderRows.map((r) => Number(r.order_id));
  const items = new Map<number, OrderItem[]>();
  const payments = new Map<number, Payment[]>();
  for (let i = 0; i < ids.length; i += 5_000) {
    const list = ids.slice(i, i + 5_000).join(',');
    for (const r of await query(connection, `SELECT * FROM order_items WHERE order_id IN (${list})`)) {
      const item: OrderItem = {
        id: Number(r.order_item_id),
        orderId: Number(r.order_id),
        productId: Number(r.product_id),
        quantity: Number(r.quantity),
        unitPriceCents: cents(r.unit_price),
        discountCents: cents(r.discount_amount),
        lineTotalCents: cents(r.line_total),
        createdAt: ms(r.created_at),
        updatedAt: ms(r.updated_at),
      };
      items.set(item.orderId, [...(items.get(item.orderId) ?? []), item]);
    }
    for (const r of await query(connection, `SELECT * FROM payments WHERE order_id IN (${list}) ORDER BY payment_id`)) {
      const payment: Payment = {
        id: Number(r.payment_id),
        orderId: Number(r.order_id),
        method: String(r.payment_method),
        status: String(r.status) as Payment['status'],
        amountCents: cents(r.amount),
        cardFingerprint: str(r.card_fingerprint),
        ipCountryCode: str(r.ip_country_code),
        attemptedAt: ms(r.attempted_at),
        createdAt: ms(r.created_at),
        updatedAt: ms(r.updated_at),
      };
      payments.set(payment.orderId, [...(payments.get(payment.orderId) ?? []), payment]);
    }
  }
  return orderRows.map((r): OpenOrder => {
    const order: Order = {
      id: Number(r.order_id),
      customerId: Number(r.customer_id),
      sessionId: str(r.session_id),
      status: String(r.status) as OrderStatus,
      currency: String(r.currency),
      subtotalCents: cents(r.subtotal_amount),
      discountCents: cents(r.discount_amount),
      shippingCents: cents(r.shipping_amount),
      taxCents: cents(r.tax_amount),
      totalCents: cents(r.total_amount),
      shipCountryCode: String(r.ship_country_code),
      shipRegion: str(r.ship_region),
      shipCity: String(r.ship_city),
      shipPostalCode: str(r.ship_postal_code),
      placedAt: ms(r.placed_at),
      paidAt: optMs(r.paid_at),
      shippedAt: optMs(r.shipped_at),
      deliveredAt: optMs(r.delivered_at),
      cancelledAt: optMs(r.cancelled_at),
      returnedAt: optMs(r.returned_at),
      createdAt: ms(r.created_at),
      updatedAt: ms(r.updated_at),
    };
    const paid = payments.get(order.id) ?? [];
    const captured = paid.find((x) => x.status === 'captured') ?? null;
    const method = captured?.method ?? paid[0]?.method ?? 'card';
    const rng = new Rng(seed, 'resume', order.id, nowMs);
    // Plan a fresh path from now and keep the steps after the order's current state.
    const country = countrySpec(order.shipCountryCode);
    let steps = shapes.lifecycle(rng, nowMs, method, country).steps;
    if (order.status !== 'placed') {
      if (!steps.some((s) => s.kind === 'pay'))
        steps = [
          { kind: 'pay', at: nowMs },
          { kind: 'ship', at: nowMs + 86_400_000 },
          { kind: 'deliver', at: nowMs + 4 * 86_400_000 },
        ];
      steps = steps.filter((s) => s.kind !== 'pay');
      if (order.status === 'shipped') steps = steps.filter((s) => s.kind !== 'ship' && s.kind !== 'cancel');
      if (steps.length === 0) steps = [{ kind: 'deliver', at: nowMs + 3 * 86_400_000 }];
    }
    return {
      order,
      items: items.get(order.id) ?? [],
      paymentMethod: method,
      card: captured?.cardFingerprint ?? null,
      ipCountryCode: captured?.ipCountryCode ?? order.shipCountryCode,
      failedAttempts: 0,
      captured,
      steps,
      next: 0,
    };
  });
}
