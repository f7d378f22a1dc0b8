/**
 * The bounds of the clickstream contract that the warehouse's types impose, stated once.
 *
 * An event the ingestor admits lands in raw.shop_events and is typed by dbt staging
 * (dbt/models/staging/clickstream/stg_clickstream__events.sql: `jsonb_to_record` with these
 * Postgres types, then `::numeric(12, 2)` for money). A value past a type's range fails the
 * whole `dbt build` on every run, so the zod schema (schema.ts), the fast path (fast-accept.ts)
 * and the wire rules (wire.ts) all take their limits from here, and
 * tests/lib/events/bounds.unit.test.ts reads the staging SQL and checks that each field is read
 * as the type named here and that each range fits it.
 */

export const INT4_MAX = 2_147_483_647;

export type PgIntegerType = 'integer' | 'bigint';

export interface IntegerBound {
  /** The type staging reads the field as (`jsonb_to_record` column list). */
  pgType: PgIntegerType;
  min: number;
  max: number;
}

/**
 * Integral fields. Shop ids are BIGINT UNSIGNED in the shop database and bigint in staging; a
 * JSON number is exact in JavaScript only up to 2^53 - 1, which is the tighter bound. Counts
 * are Postgres `integer`.
 */
export const INTEGER_BOUNDS = {
  schema_version: { pgType: 'integer', min: 1, max: INT4_MAX },
  customer_id: { pgType: 'bigint', min: 1, max: Number.MAX_SAFE_INTEGER },
  product_id: { pgType: 'bigint', min: 1, max: Number.MAX_SAFE_INTEGER },
  order_id: { pgType: 'bigint', min: 1, max: Number.MAX_SAFE_INTEGER },
  quantity: { pgType: 'integer', min: 1, max: 1000 },
  item_count: { pgType: 'integer', min: 1, max: INT4_MAX },
} as const satisfies Record<string, IntegerBound>;

export type IntegerField = keyof typeof INTEGER_BOUNDS;
export const INTEGER_FIELDS = Object.keys(INTEGER_BOUNDS) as IntegerField[];

/** Money: staging casts to numeric(precision, scale); the JSON text may have at most `scale` decimals. */
export const MONEY = { precision: 12, scale: 2 } as const;
/** The largest amount numeric(12,2) holds: 9,999,999,999.99. */
export const MONEY_MAX = 10 ** (MONEY.precision - MONEY.scale) - 10 ** -MONEY.scale;
export const MONEY_FIELDS = ['price', 'cart_value', 'order_total'] as const;
export type MoneyField = (typeof MONEY_FIELDS)[number];

/**
 * Event times: from the Unix epoch up to (not including) 2100. Postgres would hold far more,
 * but a clock at year 0001 or 9999 is a producer bug, and the date dimension and reporting
 * spines are built over the span of event dates.
 */
export const EVENT_TIME_MIN_MS = Date.UTC(1970, 0, 1);
export const EVENT_TIME_END_MS = Date.UTC(2100, 0, 1);
export const EVENT_TIME_MIN_YEAR = 1970;
export const EVENT_TIME_END_YEAR = 2100;

/** Text fields and their longest length in characters (staging reads them as `text`). */
export const STRING_MAX = {
  session_id: 64,
  anonymous_id: 64,
  page_url: 2048,
  referrer: 2048,
} as const;

/** Largest message value accepted, in bytes; larger ones are dead-lettered as `oversized`. */
export const MAX_EVENT_BYTES = 64 * 1024;
