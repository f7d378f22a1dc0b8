/**
 * fast-check generators of clickstream events within the contract's bounds (lib/events/bounds.ts),
 * weighted towards the bounds themselves: for the decoder's properties and for landing admitted
 * events through dbt.
 */
import fc from 'fast-check';

import { EVENT_TIME_END_MS, EVENT_TIME_MIN_MS, INTEGER_BOUNDS, MONEY_FIELDS, MONEY_MAX, STRING_MAX } from '../../../lib/events/bounds.ts';
import { DEVICES, EVENT_TYPES } from '../../../lib/events/schema.ts';

/** Fields of each event type, beyond the ten every event has and event_type. */
export const TYPE_FIELDS: Record<string, string[]> = {
  page_view: [],
  product_view: ['product_id', 'price'],
  add_to_cart: ['product_id', 'price', 'quantity'],
  remove_from_cart: ['product_id', 'price', 'quantity'],
  checkout_started: ['cart_value', 'item_count'],
  order_placed: ['order_id', 'order_total', 'item_count'],
};
export const COMMON_FIELDS = [
  'schema_version',
  'event_id',
  'event_type',
  'event_time',
  'session_id',
  'customer_id',
  'anonymous_id',
  'device',
  'country_code',
  'page_url',
  'referrer',
];

const integerOf = (min: number, max: number) =>
  fc.oneof(
    fc.constant(min),
    fc.constant(max),
    fc.integer({ min, max: Math.min(max, 2 ** 31 - 1) }),
    fc.maxSafeInteger().filter((n) => n >= min && n <= max),
  );
const money = fc.oneof(
  fc.constant(0),
  fc.constant(MONEY_MAX),
  fc.integer({ min: 0, max: 999_999_999_999 }).map((cents) => cents / 100),
);
export const instant = fc.oneof(
  fc.constant(EVENT_TIME_MIN_MS),
  fc.constant(EVENT_TIME_END_MS - 1),
  fc.integer({ min: EVENT_TIME_MIN_MS, max: EVENT_TIME_END_MS - 1 }),
);
/** 1 to `max` UTF-16 units: any code points (at most two units each), or exactly `max` ASCII. */
const text = (max: number) =>
  fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: Math.floor(max / 2) }), fc.constant('x'.repeat(max)));

/** An event within the bounds, of any type. */
export const boundedEvent = fc.constantFrom(...EVENT_TYPES).chain((type) => {
  const fields: Record<string, fc.Arbitrary<unknown>> = {
    schema_version: fc.constant(1),
    event_id: fc.uuid({ version: [1, 4, 5, 7] }),
    event_type: fc.constant(type),
    event_time: instant.map((ms) => new Date(ms).toISOString()),
    session_id: text(STRING_MAX.session_id),
    customer_id: fc.option(integerOf(INTEGER_BOUNDS.customer_id.min, INTEGER_BOUNDS.customer_id.max), { nil: null }),
    anonymous_id: text(STRING_MAX.anonymous_id),
    device: fc.constantFrom(...DEVICES),
    country_code: fc.stringMatching(/^[A-Z]{2}$/),
    page_url: fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constant('u'.repeat(STRING_MAX.page_url))), {
      nil: null,
    }),
    referrer: fc.option(fc.string({ maxLength: 300 }), { nil: null }),
  };
  for (const field of TYPE_FIELDS[type]!) {
    fields[field] = (MONEY_FIELDS as readonly string[]).includes(field)
      ? money
      : integerOf(INTEGER_BOUNDS[field as keyof typeof INTEGER_BOUNDS].min, INTEGER_BOUNDS[field as keyof typeof INTEGER_BOUNDS].max);
  }
  return fc.record(fields);
});
