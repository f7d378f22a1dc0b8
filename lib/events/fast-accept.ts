/**
 * A quick yes for the common case: `acceptsShopEvent(value)` is true only for values that
 * `shopEvent` (schema.ts) certainly accepts. The Kafka ingestor asks it first and runs the zod
 * schema only on a no, which also writes the reasons a dead letter needs.
 *
 * Why a second statement of the rules: zod spends ~4.6 µs an event on the checks (UUID and
 * timestamp patterns, multipleOf, per-check issue plumbing), about half of the ingestor's decode
 * time per event; these hand-written checks take a fraction of that. They may be stricter than
 * the schema (a stricter no only costs a zod run) but never looser: tests/lib/events/
 * fast-accept.unit.test.ts mutates every field of every event type and checks that each yes
 * here is a yes from zod. When the schema changes, change this file with it; that test fails
 * until both agree.
 */
import {
  EVENT_TIME_END_YEAR,
  EVENT_TIME_MIN_YEAR,
  INTEGER_BOUNDS,
  MONEY_MAX,
  STRING_MAX,
  type IntegerBound,
  type IntegerField,
} from './bounds.ts';
import { DEVICES, EVENT_SCHEMA_VERSION, type EventType } from './schema.ts';

type Fields = Record<string, unknown>;

const devices: ReadonlySet<unknown> = new Set(DEVICES);

/** A check for a whole number within a field's bounds (bounds.ts), made once per field. */
const integerIn =
  ({ min, max }: IntegerBound) =>
  (v: unknown): boolean =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isInteger: Record<IntegerField, (v: unknown) => boolean> = {
  schema_version: integerIn(INTEGER_BOUNDS.schema_version),
  customer_id: integerIn(INTEGER_BOUNDS.customer_id),
  product_id: integerIn(INTEGER_BOUNDS.product_id),
  order_id: integerIn(INTEGER_BOUNDS.order_id),
  quantity: integerIn(INTEGER_BOUNDS.quantity),
  item_count: integerIn(INTEGER_BOUNDS.item_count),
};
const isCustomerId = isInteger.customer_id;
const isProductId = isInteger.product_id;
const isOrderId = isInteger.order_id;
const isQuantity = isInteger.quantity;
const isItemCount = isInteger.item_count;

/** Between 1 and `max` UTF-16 units (the schema counts code points, never more than units). */
const isShortString = (v: unknown, max: number): boolean => typeof v === 'string' && v.length >= 1 && v.length <= max;

const isNullableString = (v: unknown, max: number): boolean => v === null || (typeof v === 'string' && v.length <= max);

/** Money numeric(12,2) holds, with at most two decimals: the nearest double to some k/100. */
const isMoney = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= MONEY_MAX && Math.round(v * 100) / 100 === v;

/** Lower-case or upper-case hex, RFC 9562 versions 1-8, variant 10xx (the schema allows more). */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number written by the ASCII digits of `s` from `start` to `end`, or -1 if one is not a digit. */
function digits(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i += 1) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Only the form JavaScript's toISOString writes, YYYY-MM-DDTHH:MM:SS.sssZ, with a day its month
 * has; other valid forms (offsets, more or fewer digits) go to zod. Checked by character: a
 * Date round trip cost four times as much.
 */
const isIsoInstant = (v: unknown): boolean => {
  if (typeof v !== 'string' || v.length !== 24) return false;
  if (v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':' || v[19] !== '.' || v[23] !== 'Z') return false;
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 7);
  const day = digits(v, 8, 10);
  if (year < EVENT_TIME_MIN_YEAR || year >= EVENT_TIME_END_YEAR || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!)
    return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  const hour = digits(v, 11, 13);
  const minute = digits(v, 14, 16);
  const second = digits(v, 17, 19);
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59 && digits(v, 20, 23) >= 0;
};

const isCountryCode = (v: unknown): boolean => {
  if (typeof v !== 'string' || v.length !== 2) return false;
  const a = v.charCodeAt(0);
  const b = v.charCodeAt(1);
  return a >= 65 && a <= 90 && b >= 65 && b <= 90;
};

function acceptsBase(e: Fields): boolean {
  return (
    e.schema_version === EVENT_SCHEMA_VERSION &&
    typeof e.event_id === 'string' &&
    UUID.test(e.event_id) &&
    isIsoInstant(e.event_time) &&
    isShortString(e.session_id, STRING_MAX.session_id) &&
    (e.customer_id === null || isCustomerId(e.customer_id)) &&
    isShortString(e.anonymous_id, STRING_MAX.anonymous_id) &&
    devices.has(e.device) &&
    isCountryCode(e.country_code) &&
    isNullableString(e.page_url, STRING_MAX.page_url) &&
    isNullableString(e.referrer, STRING_MAX.referrer)
  );
}

const acceptsProduct = (e: Fields): boolean => isProductId(e.product_id) && isMoney(e.price);
const acceptsCartChange = (e: Fields): boolean => acceptsProduct(e) && isQuantity(e.quantity);

/** Per type, the check of its own fields and how many fields it has in all (11 are common, event_type included). */
const acceptsByType: Record<EventType, { fields: number; accepts: (e: Fields) => boolean }> = {
  page_view: { fields: 11, accepts: () => true },
  product_view: { fields: 13, accepts: acceptsProduct },
  add_to_cart: { fields: 14, accepts: acceptsCartChange },
  remove_from_cart: { fields: 14, accepts: acceptsCartChange },
  checkout_started: { fields: 13, accepts: (e) => isMoney(e.cart_value) && isItemCount(e.item_count) },
  order_placed: { fields: 14, accepts: (e) => isOrderId(e.order_id) && isMoney(e.order_total) && isItemCount(e.item_count) },
};

/** True only if `shopEvent.safeParse(value)` would succeed; false means "ask zod". */
export function acceptsShopEvent(value: Fields): boolean {
  const type = value.event_type;
  if (typeof type !== 'string' || !Object.hasOwn(acceptsByType, type)) return false;
  const rules = acceptsByType[type as EventType];
  // Every field the type has is checked below, so the count tells that there is no other one.
  return rules.accepts(value) && acceptsBase(value) && Object.keys(value).length === rules.fields;
}
