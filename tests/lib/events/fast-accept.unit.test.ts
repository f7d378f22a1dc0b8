/**
 * acceptsShopEvent must never say yes where the zod schema says no (the ingestor would land an
 * event the contract rejects), and should say yes to what the generator writes (else it saves
 * nothing). Every field of every event type is replaced by awkward values, or removed.
 */
import { describe, expect, it } from 'vitest';

import { acceptsShopEvent } from '../../../lib/events/fast-accept.ts';
import { EVENT_TYPES, shopEvent } from '../../../lib/events/schema.ts';
import { seededRandom } from '../../../ingest/kafka/sample-events.ts';
import { generateInMemory } from '../../generator/memory-world.ts';

type Fields = Record<string, unknown>;

const REMOVE = Symbol('remove');

const AWKWARD: unknown[] = [
  REMOVE,
  null,
  undefined,
  true,
  0,
  -0,
  1,
  -1,
  2,
  0.5,
  1.5,
  1000,
  1001,
  2 ** 53,
  2 ** 53 + 2,
  -1e-9,
  1e-7,
  0.07,
  0.1 + 0.2,
  1.005,
  19.99,
  2.03,
  999_999_999.99,
  1e9,
  1e21,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  'x',
  'AB',
  'Ab',
  'ABC',
  'de',
  '1',
  'page_view',
  'add_to_cart',
  'mobile',
  'Mobile',
  'x'.repeat(64),
  'x'.repeat(65),
  '😀'.repeat(32),
  '😀'.repeat(33),
  'x'.repeat(2048),
  'x'.repeat(2049),
  {},
  [],
  [1],
  '2026-01-31T12:00:00.000Z',
  '2026-01-31T12:00:00Z',
  '2026-01-31T12:00:00.000+01:00',
  '2026-01-31T12:00:00.000z',
  '2026-02-29T00:00:00.000Z',
  '2024-02-29T00:00:00.000Z',
  '2026-04-31T00:00:00.000Z',
  '2026-01-31T24:00:00.000Z',
  '2026-01-31T23:59:60.000Z',
  '+02026-01-31T12:00:00.000Z',
  '2026-1-31T12:00:00.0000Z',
  ' 2026-01-31T12:00:00.000Z',
  '0000-01-01T00:00:00.000Z',
  '3f1c2a9e-8b7d-4c6e-9a5b-1d2e3f4a5b6c',
  '3F1C2A9E-8B7D-4C6E-9A5B-1D2E3F4A5B6C',
  '3f1c2a9e-8b7d-0c6e-9a5b-1d2e3f4a5b6c',
  '3f1c2a9e-8b7d-4c6e-7a5b-1d2e3f4a5b6c',
  '3f1c2a9e8b7d4c6e9a5b1d2e3f4a5b6c',
  '3f1c2a9e-8b7d-4c6e-9a5b-1d2e3f4a5b6',
  '3f1c2a9e-8b7d-4c6e-9a5b-1d2e3f4a5b6g',
  '00000000-0000-0000-0000-000000000000',
];

function mutated(event: Fields, field: string, value: unknown): Fields {
  const copy = { ...event };
  if (value === REMOVE) delete copy[field];
  else copy[field] = value;
  return copy;
}

/** Fails with the offending value when the fast check accepts what zod refuses. */
function expectNeverLooser(candidate: Fields): boolean {
  const fast = acceptsShopEvent(candidate);
  if (fast) {
    const result = shopEvent.safeParse(candidate);
    expect(result.success, `fast check accepted ${JSON.stringify(candidate)}: ${result.success ? '' : result.error.message}`).toBe(true);
  }
  return fast;
}

describe('acceptsShopEvent', () => {
  it('accepts every event the generator writes, as zod does', async () => {
    const world = await generateInMemory({ seed: 11, days: 20, customers: 120, products: 30, orders: 200 });
    const events = world.messages.map((m) => JSON.parse(Buffer.from(m.value).toString('utf8')) as Fields);
    expect(events.length).toBeGreaterThan(1000);
    expect(new Set(events.map((e) => e.event_type))).toEqual(new Set(EVENT_TYPES));
    const refused = events.filter((e) => !acceptsShopEvent(e));
    expect(refused).toEqual([]);
    for (const e of events.slice(0, 500)) expect(shopEvent.safeParse(e).success).toBe(true);
  });

  it('never accepts a mutated event that zod refuses, for every field of every type', async () => {
    const world = await generateInMemory({ seed: 12, days: 10, customers: 60, products: 20, orders: 80 });
    const byType = new Map<unknown, Fields>();
    for (const m of world.messages) {
      const e = JSON.parse(Buffer.from(m.value).toString('utf8')) as Fields;
      if (!byType.has(e.event_type)) byType.set(e.event_type, e);
      if (e.customer_id === null && !byType.has('anonymous')) byType.set('anonymous', e);
    }
    expect(byType.size).toBe(EVENT_TYPES.length + 1);

    let tried = 0;
    let accepted = 0;
    for (const event of byType.values()) {
      const fields = [...Object.keys(event), 'extra_field'];
      for (const field of fields) {
        for (const value of AWKWARD) {
          tried += 1;
          if (expectNeverLooser(mutated(event, field, value))) accepted += 1;
        }
      }
      // Another type's fields under this event_type.
      for (const type of EVENT_TYPES) {
        tried += 1;
        if (expectNeverLooser({ ...byType.get(type), ...event, event_type: type })) accepted += 1;
        tried += 1;
        if (expectNeverLooser({ ...event, event_type: type })) accepted += 1;
      }
    }
    // Both answers occur: the sweep exercised the refusals and the acceptances.
    expect(accepted).toBeGreaterThan(50);
    expect(tried - accepted).toBeGreaterThan(1000);
  });

  it('agrees with zod on money: every cent value up to 10,000 and random doubles', async () => {
    const world = await generateInMemory({ seed: 13, days: 5, customers: 30, products: 10, orders: 20 });
    const base = world.messages
      .map((m) => JSON.parse(Buffer.from(m.value).toString('utf8')) as Fields)
      .find((e) => e.event_type === 'product_view')!;
    const random = seededRandom(7);
    const values: number[] = [];
    for (let cents = 0; cents <= 1_000_000; cents += 1) values.push(cents / 100);
    for (let i = 0; i < 20_000; i += 1)
      values.push(random() * 10 ** Math.floor(random() * 12), Math.round(random() * 1e11) / 100, Math.round(random() * 1e6) / 1000);
    let accepted = 0;
    for (const price of values) {
      const fast = acceptsShopEvent({ ...base, price });
      if (fast && !shopEvent.safeParse({ ...base, price }).success) throw new Error(`fast check accepted price ${price}`);
      if (fast) accepted += 1;
    }
    expect(accepted).toBeGreaterThan(1_000_000);
  });

  it('agrees with zod on timestamps: every day number 00-32 of every month of seven years, and edge times', async () => {
    const world = await generateInMemory({ seed: 14, days: 5, customers: 30, products: 10, orders: 20 });
    const base = JSON.parse(Buffer.from(world.messages[0]!.value).toString('utf8')) as Fields;
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const times: string[] = [];
    // 1969 and 2100 are outside the contract's event-time range (lib/events/bounds.ts).
    for (const year of [1969, 1970, 2000, 2023, 2024, 2099, 2100]) {
      for (let month = 0; month <= 13; month += 1) {
        for (let day = 0; day <= 32; day += 1) times.push(`${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T12:30:45.123Z`);
      }
    }
    for (const clock of [
      '00:00:00.000',
      '23:59:59.999',
      '24:00:00.000',
      '23:60:00.000',
      '23:59:60.000',
      '9:59:59.999',
      'aa:00:00.000',
      '12:00:00.00a',
    ]) {
      times.push(`2026-03-01T${clock}Z`);
    }
    let accepted = 0;
    let zodAccepted = 0;
    for (const event_time of times) {
      const candidate = { ...base, event_time };
      const zod = shopEvent.safeParse(candidate).success;
      if (acceptsShopEvent(candidate)) {
        expect(zod, event_time).toBe(true);
        accepted += 1;
      }
      if (zod) zodAccepted += 1;
    }
    // In this form the two agree exactly: every valid day of the five years in range and the two valid clocks.
    expect(accepted).toBe(zodAccepted);
    expect(accepted).toBe(365 + 366 + 365 + 366 + 365 + 2);
  });
});
