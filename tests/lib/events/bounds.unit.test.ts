/**
 * The contract's bounds (lib/events/bounds.ts) against the casts dbt staging applies to what
 * lands: an event the ingestor admits must be typable, or every later `dbt build` fails on it.
 * Reads stg_clickstream__events.sql itself, so a change to a cast or to a bound that no longer
 * fits fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../../lib/config/index.ts';
import {
  EVENT_TIME_END_MS,
  EVENT_TIME_MIN_MS,
  INTEGER_BOUNDS,
  INTEGER_FIELDS,
  MONEY,
  MONEY_FIELDS,
  MONEY_MAX,
  STRING_MAX,
} from '../../../lib/events/bounds.ts';
import { shopEvent } from '../../../lib/events/schema.ts';

const STAGING = join(ROOT_DIR, 'dbt', 'models', 'staging', 'clickstream', 'stg_clickstream__events.sql');

/** The `jsonb_to_record(...) as typed_payload (name type, ...)` column list of the staging model. */
function recordColumns(sql: string): Map<string, string> {
  const list = /jsonb_to_record\s*\(\s*landed_as_json\.payload\s*\)\s+as\s+typed_payload\s*\(([^)]*)\)/i.exec(sql);
  if (!list) throw new Error(`no jsonb_to_record(landed_as_json.payload) as typed_payload (...) column list in ${STAGING}`);
  const columns = new Map<string, string>();
  for (const item of list[1]!.split(',')) {
    const match = /^\s*(\w+)\s+(.+?)\s*$/.exec(item);
    if (match) columns.set(match[1]!, match[2]!.toLowerCase());
  }
  return columns;
}

/** `typed_payload.<field>::<type>` casts applied after the record is read. */
function casts(sql: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of sql.matchAll(/typed_payload\.(\w+)::(\w+(?:\s*\(\s*\d+\s*,\s*\d+\s*\))?)/gi))
    found.set(match[1]!, match[2]!.replace(/\s+/g, '').toLowerCase());
  return found;
}

const PG_RANGE: Record<string, { min: bigint; max: bigint }> = {
  smallint: { min: -(2n ** 15n), max: 2n ** 15n - 1n },
  integer: { min: -(2n ** 31n), max: 2n ** 31n - 1n },
  int: { min: -(2n ** 31n), max: 2n ** 31n - 1n },
  bigint: { min: -(2n ** 63n), max: 2n ** 63n - 1n },
};

/** A valid event of the type that carries `field`, with `field` set to `value`. */
function eventWith(field: string, value: unknown): Record<string, unknown> {
  const base: Record<string, unknown> = {
    schema_version: 1,
    event_id: '3f1c2a9e-8b7d-4c6e-9a5b-1d2e3f4a5b6c',
    event_time: '2026-01-31T12:00:00.000Z',
    session_id: 's',
    customer_id: 1,
    anonymous_id: 'a',
    device: 'mobile',
    country_code: 'DE',
    page_url: null,
    referrer: null,
  };
  const byField: Record<string, Record<string, unknown>> = {
    order_id: { event_type: 'order_placed', order_id: 1, order_total: 1, item_count: 1 },
    order_total: { event_type: 'order_placed', order_id: 1, order_total: 1, item_count: 1 },
    item_count: { event_type: 'checkout_started', cart_value: 1, item_count: 1 },
    cart_value: { event_type: 'checkout_started', cart_value: 1, item_count: 1 },
  };
  return { ...base, ...(byField[field] ?? { event_type: 'add_to_cart', product_id: 1, price: 1, quantity: 1 }), [field]: value };
}

describe('event bounds against the staging casts', () => {
  const sql = readFileSync(STAGING, 'utf8');
  const columns = recordColumns(sql);
  const cast = casts(sql);

  it('reads every integral field as the Postgres type its bound names, and the bound fits that type', () => {
    for (const field of INTEGER_FIELDS) {
      const bound = INTEGER_BOUNDS[field];
      expect(columns.get(field), `${field} in the jsonb_to_record column list`).toBe(bound.pgType);
      const type = cast.get(field) ?? bound.pgType;
      const range = PG_RANGE[type];
      expect(range, `${field} is cast to ${type}, which is not an integer type`).toBeDefined();
      expect(
        BigInt(bound.min) >= range!.min && BigInt(bound.max) <= range!.max,
        `${field}: [${bound.min}, ${bound.max}] fits ${type}`,
      ).toBe(true);
      expect(Number.isSafeInteger(bound.max), `${field}: the bound is exact in JSON`).toBe(true);
    }
  });

  it(`casts every money field to numeric(${MONEY.precision},${MONEY.scale}), which holds the money bound`, () => {
    for (const field of MONEY_FIELDS) {
      expect(columns.get(field), `${field} read as numeric`).toBe('numeric');
      expect(cast.get(field), `${field} cast`).toBe(`numeric(${MONEY.precision},${MONEY.scale})`);
    }
    expect(MONEY_MAX).toBe(9_999_999_999.99);
    expect(Math.round(MONEY_MAX * 100)).toBe(10 ** MONEY.precision - 1);
  });

  it('reads the text fields as text, and reads no field the schema does not have', () => {
    for (const field of Object.keys(STRING_MAX)) expect(columns.get(field), field).toBe('text');
    const known = new Set<string>();
    for (const option of shopEvent.options) for (const key of Object.keys(option.shape)) known.add(key);
    for (const column of columns.keys()) expect(known.has(column), `staging reads ${column}, which no event has`).toBe(true);
    expect(['device', 'country_code'].every((f) => columns.get(f) === 'text')).toBe(true);
  });

  it('has the schema enforce each bound: the bound is admitted, one past it is refused', () => {
    for (const field of INTEGER_FIELDS) {
      if (field === 'schema_version') continue; // a literal, stricter than its type bound
      const { min, max } = INTEGER_BOUNDS[field];
      expect(shopEvent.safeParse(eventWith(field, max)).success, `${field} = ${max}`).toBe(true);
      expect(shopEvent.safeParse(eventWith(field, min)).success, `${field} = ${min}`).toBe(true);
      expect(shopEvent.safeParse(eventWith(field, min - 1)).success, `${field} = ${min - 1}`).toBe(false);
      if (max < Number.MAX_SAFE_INTEGER)
        expect(shopEvent.safeParse(eventWith(field, max + 1)).success, `${field} = ${max + 1}`).toBe(false);
      else expect(shopEvent.safeParse(eventWith(field, max + 2)).success, `${field} past 2^53`).toBe(false);
    }
    for (const field of MONEY_FIELDS) {
      expect(shopEvent.safeParse(eventWith(field, MONEY_MAX)).success, `${field} at max`).toBe(true);
      expect(shopEvent.safeParse(eventWith(field, 10 ** (MONEY.precision - MONEY.scale))).success, `${field} past max`).toBe(false);
    }
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(shopEvent.safeParse(eventWith('event_time', iso(EVENT_TIME_MIN_MS))).success).toBe(true);
    expect(shopEvent.safeParse(eventWith('event_time', iso(EVENT_TIME_END_MS - 1))).success).toBe(true);
    expect(shopEvent.safeParse(eventWith('event_time', iso(EVENT_TIME_MIN_MS - 1))).success).toBe(false);
    expect(shopEvent.safeParse(eventWith('event_time', iso(EVENT_TIME_END_MS))).success).toBe(false);
    for (const [field, max] of Object.entries(STRING_MAX)) {
      expect(shopEvent.safeParse(eventWith(field, 'x'.repeat(max))).success, `${field} at ${max}`).toBe(true);
      expect(shopEvent.safeParse(eventWith(field, 'x'.repeat(max + 1))).success, `${field} past ${max}`).toBe(false);
    }
  });
});
