/**
 * The simulated world, generated in memory: determinism, the event contract, referential
 * integrity between rows and events, arithmetic to the cent, and the documented distributions.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { shopEvent, type ShopEvent } from '../../lib/events/schema.ts';
import { PROPORTIONS } from '../../generator/params.ts';
import { generateInMemory, cents, type MemoryWorld } from './memory-world.ts';

let world: MemoryWorld;
let events: ShopEvent[];

beforeAll(async () => {
  world = await generateInMemory({ seed: 11, days: 90, customers: 400, orders: 1_500, products: 100 });
  events = world.messages.map((m) => shopEvent.parse(JSON.parse(m.value)));
});

describe('determinism', () => {
  it('the same seed and arguments give byte-identical rows and messages', async () => {
    const again = await generateInMemory({ seed: 11, days: 90, customers: 400, orders: 1_500, products: 100 });
    expect(again.digest).toBe(world.digest);
    expect(again.messages.length).toBe(world.messages.length);
  });

  it('handing busy days on in parts changes nothing but the split: same tables, same stream per session', async () => {
    const parts = await generateInMemory({ seed: 11, days: 90, customers: 400, orders: 1_500, products: 100, maxMessagesPerBatch: 40 });
    expect(world.batches).toBe(90);
    expect(parts.batches).toBeGreaterThan(150);
    expect(parts.tables).toEqual(world.tables);
    const bySession = (w: MemoryWorld) => {
      const streams = new Map<string, string[]>();
      for (const m of w.messages) streams.set(m.key, [...(streams.get(m.key) ?? []), m.value]);
      return streams;
    };
    expect(bySession(parts)).toEqual(bySession(world));
  });

  it('without a Kafka sink (messages counted, not built) the rows are the same, and so are the events counted', async () => {
    const countOnly = await generateInMemory({ seed: 11, days: 90, customers: 400, orders: 1_500, products: 100, messageBodies: false });
    expect(countOnly.writes).toEqual(world.writes);
    expect(countOnly.batches).toBe(world.batches);
    expect(countOnly.messages.every((m) => m.value === '')).toBe(true);
    const shape = (w: MemoryWorld) => w.messages.map((m) => `${m.batch} ${m.time} ${m.type}`);
    expect(shape(countOnly)).toEqual(shape(world));
  });

  it('a different seed gives a different world', async () => {
    expect((await generateInMemory({ seed: 12, days: 30, customers: 100, orders: 300, products: 50 })).digest).not.toBe(
      (await generateInMemory({ seed: 11, days: 30, customers: 100, orders: 300, products: 50 })).digest,
    );
  });
});

describe('sizes', () => {
  it('writes exactly the requested customers, products and orders', () => {
    expect(world.tables.customers.size).toBe(400);
    expect(world.tables.products.size).toBe(100);
    expect(world.tables.orders.size).toBe(1_500);
    expect(world.tables.inventory.size).toBe(100);
  });
});

describe('events', () => {
  it('every message passes the shared zod schema and is keyed by its session_id', () => {
    expect(events.length).toBe(world.messages.length);
    world.messages.forEach((m, i) => expect(m.key).toBe(events[i]!.session_id));
  });

  it('event ids are unique', () => {
    expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
  });

  it("a session's events are sent in event-time order", () => {
    const last = new Map<string, string>();
    for (const e of events) {
      const previous = last.get(e.session_id);
      if (previous !== undefined) expect(e.event_time >= previous).toBe(true);
      last.set(e.session_id, e.event_time);
    }
  });
});

describe('orders and sessions agree', () => {
  it('every order_placed event matches its order row: id, customer, total, time, session', () => {
    const placed = events.filter((e) => e.event_type === 'order_placed');
    expect(placed.length).toBe(world.tables.orders.size);
    for (const e of placed) {
      if (e.event_type !== 'order_placed') continue;
      const order = world.tables.orders.get(e.order_id)!;
      expect(order, `order ${e.order_id}`).toBeDefined();
      expect(order.customer_id).toBe(e.customer_id);
      expect(cents(order.total_amount)).toBe(Math.round(e.order_total * 100));
      expect(order.session_id).toBe(e.session_id);
      expect(String(order.placed_at).replace(' ', 'T') + 'Z').toBe(e.event_time);
    }
  });

  it('every order has a session with product_view -> add_to_cart -> checkout_started -> order_placed, for each of its products', () => {
    const bySession = new Map<string, ShopEvent[]>();
    for (const e of events) bySession.set(e.session_id, [...(bySession.get(e.session_id) ?? []), e]);
    const itemsByOrder = new Map<number, number[]>();
    for (const item of world.tables.order_items.values())
      itemsByOrder.set(Number(item.order_id), [...(itemsByOrder.get(Number(item.order_id)) ?? []), Number(item.product_id)]);
    for (const order of world.tables.orders.values()) {
      const session = bySession.get(String(order.session_id))!;
      expect(session, `session of order ${order.order_id}`).toBeDefined();
      const types = session.map((e) => e.event_type);
      const placedAt = types.indexOf('order_placed');
      const checkoutAt = types.indexOf('checkout_started');
      expect(placedAt).toBe(types.length - 1);
      expect(checkoutAt).toBeGreaterThan(-1);
      expect(checkoutAt).toBeLessThan(placedAt);
      for (const productId of itemsByOrder.get(Number(order.order_id))!) {
        const view = session.findIndex((e) => e.event_type === 'product_view' && e.product_id === productId);
        const add = session.findIndex((e) => e.event_type === 'add_to_cart' && e.product_id === productId);
        expect(view, `product_view of ${productId}`).toBeGreaterThan(-1);
        expect(add).toBeGreaterThan(view);
        expect(add).toBeLessThan(checkoutAt);
      }
    }
  });
});

describe('rows', () => {
  it('totals add up to the cent: subtotal = sum(line_total), total = subtotal - discount + shipping + tax', () => {
    const sums = new Map<number, number>();
    for (const item of world.tables.order_items.values()) {
      expect(cents(item.line_total)).toBe(Number(item.quantity) * cents(item.unit_price) - cents(item.discount_amount));
      sums.set(Number(item.order_id), (sums.get(Number(item.order_id)) ?? 0) + cents(item.line_total));
    }
    for (const o of world.tables.orders.values()) {
      expect(cents(o.subtotal_amount)).toBe(sums.get(Number(o.order_id)));
      expect(cents(o.total_amount)).toBe(
        cents(o.subtotal_amount) - cents(o.discount_amount) + cents(o.shipping_amount) + cents(o.tax_amount),
      );
    }
  });

  it('references exist before they are used (customers before orders, orders before items and payments)', () => {
    const seen = { customers: new Set<number>(), products: new Set<number>(), orders: new Set<number>() };
    for (const w of world.writes) {
      if (w.kind !== 'insert') continue;
      if (w.table === 'customers' || w.table === 'products' || w.table === 'orders') seen[w.table].add(Number(w.row[0]));
      if (w.table === 'orders') expect(seen.customers.has(Number(w.row[1]))).toBe(true);
      if (w.table === 'order_items') {
        expect(seen.orders.has(Number(w.row[1]))).toBe(true);
        expect(seen.products.has(Number(w.row[2]))).toBe(true);
      }
      if (w.table === 'payments') expect(seen.orders.has(Number(w.row[1]))).toBe(true);
      if (w.table === 'inventory' || w.table === 'restocks')
        expect(seen.products.has(Number(w.row[w.table === 'inventory' ? 0 : 1]))).toBe(true);
    }
  });

  it('lifecycle timestamps follow placed <= paid <= shipped <= delivered <= returned, and status matches them', () => {
    for (const o of world.tables.orders.values()) {
      const chain = [o.placed_at, o.paid_at, o.shipped_at, o.delivered_at, o.returned_at].filter((t): t is string => t !== null);
      expect([...chain].sort()).toEqual(chain);
      const expected = o.returned_at
        ? 'returned'
        : o.cancelled_at
          ? 'cancelled'
          : o.delivered_at
            ? 'delivered'
            : o.shipped_at
              ? 'shipped'
              : o.paid_at
                ? 'paid'
                : 'placed';
      expect(o.status).toBe(expected);
      expect(o.created_at).toBe(o.placed_at);
      expect(String(o.updated_at) >= String(o.placed_at)).toBe(true);
    }
  });

  it('every paid order has exactly one captured (or refunded) payment for its total', () => {
    const captured = new Map<number, number>();
    for (const p of world.tables.payments.values()) {
      if (p.status === 'captured' || p.status === 'refunded') {
        expect(captured.has(Number(p.order_id))).toBe(false);
        captured.set(Number(p.order_id), cents(p.amount));
      }
    }
    for (const o of world.tables.orders.values()) {
      if (o.paid_at !== null) expect(captured.get(Number(o.order_id))).toBe(cents(o.total_amount));
    }
  });

  it('customers change address and e-mail, products change price, with updated_at after created_at', () => {
    const customerUpdates = world.writes.filter((w) => w.table === 'customers' && w.kind === 'upsert');
    const priceUpdates = world.writes.filter((w) => w.table === 'products' && w.kind === 'upsert');
    expect(customerUpdates.length).toBeGreaterThan(0);
    expect(priceUpdates.length).toBeGreaterThan(0);
    for (const w of [...customerUpdates, ...priceUpdates]) expect(String(w.row.at(-1)) >= String(w.row.at(-2))).toBe(true);
    const emails = [...world.tables.customers.values()].map((c) => c.email);
    expect(new Set(emails).size).toBe(emails.length);
  });

  it('stock never goes negative and restocks happen', () => {
    for (const s of world.tables.inventory.values()) expect(Number(s.quantity_on_hand)).toBeGreaterThanOrEqual(0);
    expect(world.tables.restocks.size).toBeGreaterThan(0);
  });
});

describe('distributions stay inside their documented bounds', () => {
  it('session conversion rate is near sessionConversionRate', () => {
    const sessions = new Set(events.map((e) => e.session_id)).size;
    const rate = world.tables.orders.size / sessions;
    expect(rate).toBeGreaterThan(PROPORTIONS.sessionConversionRate * 0.8);
    expect(rate).toBeLessThan(PROPORTIONS.sessionConversionRate * 1.2);
  });

  it('funnel: product views > add to carts > checkouts > orders', () => {
    const count = (t: string) => events.filter((e) => e.event_type === t).length;
    expect(count('page_view')).toBeGreaterThan(count('product_view'));
    expect(count('product_view')).toBeGreaterThan(count('add_to_cart'));
    expect(count('add_to_cart')).toBeGreaterThan(count('checkout_started'));
    expect(count('checkout_started')).toBeGreaterThan(count('order_placed'));
  });

  it('both anonymous and signed-in visitors browse', () => {
    const anonymous = events.filter((e) => e.customer_id === null).length / events.length;
    expect(anonymous).toBeGreaterThan(0.3);
    expect(anonymous).toBeLessThan(0.8);
  });

  it('buyers split into one-time (30-70%) and repeat buyers; some customers never buy', () => {
    const perCustomer = new Map<number, number>();
    for (const o of world.tables.orders.values()) perCustomer.set(Number(o.customer_id), (perCustomer.get(Number(o.customer_id)) ?? 0) + 1);
    const oneTime = [...perCustomer.values()].filter((n) => n === 1).length / perCustomer.size;
    expect(oneTime).toBeGreaterThan(0.3);
    expect(oneTime).toBeLessThan(0.7);
    expect(perCustomer.size).toBeLessThan(world.tables.customers.size);
    expect(Math.max(...perCustomer.values())).toBeGreaterThan(5);
  });

  it('product popularity is Pareto-like: the top 20% of products sell 60-90% of units', () => {
    const units = new Map<number, number>();
    for (const i of world.tables.order_items.values())
      units.set(Number(i.product_id), (units.get(Number(i.product_id)) ?? 0) + Number(i.quantity));
    const sorted = [...units.values()].sort((a, b) => b - a);
    const total = sorted.reduce((a, b) => a + b, 0);
    const top = sorted.slice(0, Math.ceil(world.tables.products.size * 0.2)).reduce((a, b) => a + b, 0);
    expect(top / total).toBeGreaterThan(0.6);
    expect(top / total).toBeLessThan(0.9);
  });

  it('the largest country has the most customers and several countries appear', () => {
    const byCountry = new Map<string, number>();
    for (const c of world.tables.customers.values())
      byCountry.set(String(c.country_code), (byCountry.get(String(c.country_code)) ?? 0) + 1);
    const ranked = [...byCountry.entries()].sort((a, b) => b[1] - a[1]);
    expect(ranked[0]![0]).toBe('US');
    expect(byCountry.size).toBeGreaterThanOrEqual(8);
  });

  it('daily cycle: evening hours are busier than the night', () => {
    const byHour = new Array<number>(24).fill(0);
    for (const e of events) byHour[Number(e.event_time.slice(11, 13))]! += 1;
    expect(byHour[20]!).toBeGreaterThan(byHour[3]! * 4);
  });

  it('prices differ by category: Electronics average above Grocery', () => {
    const avg = (category: string) => {
      const prices = [...world.tables.products.values()].filter((p) => p.category === category).map((p) => cents(p.price));
      return prices.reduce((a, b) => a + b, 0) / prices.length;
    };
    expect(avg('Electronics')).toBeGreaterThan(avg('Grocery') * 3);
  });
});
