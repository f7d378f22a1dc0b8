/**
 * --anomalies: every kind is injected, written to the manifest with the ids it touched, and is
 * really there in the generated output (and really wrong, for the malformed ones).
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { ANOMALY_KINDS, sha256, type ManifestEntry } from '../../generator/anomalies/manifest.ts';
import { MAX_EVENT_BYTES, shopEvent } from '../../lib/events/schema.ts';
import { generateInMemory, type MemoryWorld } from './memory-world.ts';

let world: MemoryWorld;
let entries: ManifestEntry[];
/** Messages by event_id (malformed ones excluded: they may not parse). */
const byEventId = new Map<string, MemoryWorld['messages']>();
const byKind = (kind: string) => entries.filter((e) => e.kind === kind);

beforeAll(async () => {
  world = await generateInMemory({ seed: 5, days: 45, customers: 200, orders: 800, products: 60, anomalyRate: 10 });
  entries = world.manifest!.entries!;
  for (const m of world.messages) {
    if (m.type === 'malformed') continue;
    const id = (JSON.parse(m.value) as { event_id: string }).event_id;
    byEventId.set(id, [...(byEventId.get(id) ?? []), m]);
  }
});

describe('anomalies manifest', () => {
  it('contains every kind of anomaly', () => {
    for (const kind of ANOMALY_KINDS) expect(byKind(kind).length, kind).toBeGreaterThan(0);
  });

  it('the world without anomalies is still consistent: every order has exactly one order_placed event', () => {
    const placed = world.messages.filter((m) => m.type === 'order_placed').map((m) => JSON.parse(m.value) as { order_id: number });
    expect(new Set(placed.map((e) => e.order_id)).size).toBe(world.tables.orders.size);
  });

  it('duplicates: the same event_id is sent twice, under the recorded key', () => {
    for (const e of byKind('duplicate_event')) {
      const copies = byEventId.get(String(e.event_id))!;
      expect(copies.length).toBeGreaterThanOrEqual(2);
      expect(copies.every((m) => m.key === e.kafka_key && m.value === copies[0]!.value)).toBe(true);
    }
  });

  it('late events: sent in a later batch than the day of their event_time, and valid', () => {
    for (const e of byKind('late_event')) {
      const message = byEventId.get(String(e.event_id))!.find((m) => m.type !== 'duplicate')!;
      expect(message.batch > String(e.at).slice(0, 10)).toBe(true);
      expect(shopEvent.safeParse(JSON.parse(message.value)).success).toBe(true);
    }
  });

  it('malformed messages fail the shared schema (or the size limit) and match their recorded hash', () => {
    const bySha = new Map(world.messages.filter((m) => m.type === 'malformed').map((m) => [sha256(m.value), m]));
    const malformed = entries.filter((e) => e.kind.startsWith('malformed_'));
    expect(bySha.size).toBe(malformed.length);
    for (const e of malformed) {
      const message = bySha.get(String(e.value_sha256))!;
      expect(message, `${e.kind} ${e.event_id}`).toBeDefined();
      expect(message.key).toBe(e.kafka_key);
      if (e.kind === 'malformed_invalid_json') {
        expect(() => JSON.parse(message.value)).toThrow();
      } else if (e.kind === 'malformed_oversized') {
        expect(Buffer.byteLength(message.value)).toBeGreaterThan(MAX_EVENT_BYTES);
      } else {
        expect(shopEvent.safeParse(JSON.parse(message.value)).success, e.kind).toBe(false);
      }
    }
  });

  it('one card across countries: the orders exist and pay with that card from different countries within minutes', () => {
    for (const e of byKind('fraud_card_across_countries')) {
      const payments = [...world.tables.payments.values()].filter((p) => p.card_fingerprint === e.card_fingerprint);
      expect(new Set(payments.map((p) => p.ip_country_code)).size).toBeGreaterThanOrEqual(3);
      const times = payments.map((p) => Date.parse(`${String(p.attempted_at).replace(' ', 'T')}Z`));
      expect(Math.max(...times) - Math.min(...times)).toBeLessThan(15 * 60_000);
      for (const id of e.order_ids as number[]) expect(world.tables.orders.has(id)).toBe(true);
    }
  });

  it('high-value order from a new account: placed within an hour of signup, well above the typical order', () => {
    const totals = [...world.tables.orders.values()].map((o) => Number(o.total_amount)).sort((a, b) => a - b);
    const median = totals[Math.floor(totals.length / 2)]!;
    for (const e of byKind('fraud_high_value_new_account')) {
      const order = world.tables.orders.get(Number(e.order_id))!;
      const customer = world.tables.customers.get(Number(e.customer_id))!;
      expect(order.customer_id).toBe(customer.customer_id);
      const age =
        Date.parse(`${String(order.placed_at).replace(' ', 'T')}Z`) - Date.parse(`${String(customer.signed_up_at).replace(' ', 'T')}Z`);
      expect(age).toBeLessThanOrEqual(60 * 60_000);
      expect(Number(order.total_amount)).toBeGreaterThan(median * 5);
    }
  });

  it('failed payment bursts: the recorded payments exist, all failed, on one order', () => {
    for (const e of byKind('fraud_failed_payment_burst')) {
      const ids = e.payment_ids as number[];
      expect(ids.length).toBeGreaterThanOrEqual(6);
      for (const id of ids) {
        const p = world.tables.payments.get(id)!;
        expect(p.status).toBe('failed');
        expect(p.order_id).toBe(e.order_id);
      }
    }
  });

  it("low stock: the product's stock was written under its reorder point", () => {
    for (const e of byKind('low_stock')) {
      expect(Number(e.quantity_on_hand)).toBeLessThan(Number(e.reorder_point));
      const written = world.writes.some(
        (w) => w.table === 'inventory' && Number(w.row[0]) === e.product_id && Number(w.row[1]) <= Number(e.quantity_on_hand),
      );
      expect(written).toBe(true);
    }
  });

  it('the manifest is deterministic for the same seed', async () => {
    const again = await generateInMemory({ seed: 5, days: 45, customers: 200, orders: 800, products: 60, anomalyRate: 10 });
    expect(JSON.stringify(again.manifest!.entries)).toBe(JSON.stringify(entries));
  });
});
