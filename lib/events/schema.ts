/**
 * The clickstream contract: every message on the Kafka topic `shop.events`.
 *
 * Defined once here and used by the generator (producer) and the Kafka ingestor (consumer);
 * `npm run docs:events` exports it as JSON Schema to docs/events.schema.json.
 *
 * Wire format: the message value is one UTF-8 JSON object; the message key is the
 * `session_id`, so one session's events land on one partition and stay ordered.
 */
import { z } from 'zod';

import {
  EVENT_TIME_END_MS,
  EVENT_TIME_MIN_MS,
  INTEGER_BOUNDS,
  MAX_EVENT_BYTES,
  MONEY,
  MONEY_MAX,
  STRING_MAX,
  type IntegerField,
} from './bounds.ts';

export { MAX_EVENT_BYTES };

export const EVENT_SCHEMA_VERSION = 1;

export const EVENT_TYPES = ['page_view', 'product_view', 'add_to_cart', 'remove_from_cart', 'checkout_started', 'order_placed'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const DEVICES = ['desktop', 'mobile', 'tablet'] as const;

const EVENT_TIME_RANGE = `${new Date(EVENT_TIME_MIN_MS).toISOString()} (inclusive) to ${new Date(EVENT_TIME_END_MS).toISOString()} (exclusive)`;

/** An instant with a zone, within the range the warehouse's date logic expects (bounds.ts). */
const isoTimestamp = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 timestamp with a zone, e.g. 2026-01-31T12:00:00.000Z' })
  .refine(
    (v) => {
      const ms = Date.parse(v);
      // An unparsable text already has the format issue above; one reason is enough.
      return Number.isNaN(ms) || (ms >= EVENT_TIME_MIN_MS && ms < EVENT_TIME_END_MS);
    },
    { message: `must be from ${EVENT_TIME_RANGE}` },
  )
  .meta({ description: `An instant from ${EVENT_TIME_RANGE}.` });

/** Money that numeric(12,2) holds: >= 0, at most 2 decimals, at most 9,999,999,999.99. */
const money = z
  .number()
  .finite()
  .nonnegative({ message: 'must be >= 0' })
  .max(MONEY_MAX, { message: `must be at most ${MONEY_MAX} (numeric(${MONEY.precision},${MONEY.scale}))` })
  .multipleOf(0.01, { message: 'must have at most 2 decimals' })
  .meta({ description: `Written with at most ${MONEY.scale} decimals and no exponent.` });

/** A whole number within the field's bounds (bounds.ts), written without a fraction or exponent. */
const integer = (field: IntegerField) => {
  const { min, max } = INTEGER_BOUNDS[field];
  return z
    .number()
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be >= ${min}` })
    .max(max, { message: `must be <= ${max}` })
    .meta({ description: 'Written as a plain integer: no fraction (2.0) or exponent (2e0).' });
};

/** Fields every event carries. Strict: an unknown field is refused, as the JSON Schema says. */
const baseEvent = z.strictObject({
  schema_version: z.literal(EVENT_SCHEMA_VERSION),
  event_id: z.uuid({ message: 'must be a UUID' }),
  event_time: isoTimestamp,
  session_id: z.string().min(1).max(STRING_MAX.session_id),
  /** Signed-in customer; null for anonymous visitors. */
  customer_id: integer('customer_id').nullable(),
  /** Stable cookie id of the browser; present for anonymous and signed-in visitors alike. */
  anonymous_id: z.string().min(1).max(STRING_MAX.anonymous_id),
  device: z.enum(DEVICES),
  /** ISO 3166-1 alpha-2 country of the visitor. */
  country_code: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'),
  page_url: z.string().max(STRING_MAX.page_url).nullable(),
  referrer: z.string().max(STRING_MAX.referrer).nullable(),
});

const productFields = {
  product_id: integer('product_id'),
  price: money,
  quantity: integer('quantity'),
};

export const pageViewEvent = baseEvent.extend({ event_type: z.literal('page_view') });
export const productViewEvent = baseEvent.extend({
  event_type: z.literal('product_view'),
  product_id: productFields.product_id,
  price: money,
});
export const addToCartEvent = baseEvent.extend({ event_type: z.literal('add_to_cart'), ...productFields });
export const removeFromCartEvent = baseEvent.extend({ event_type: z.literal('remove_from_cart'), ...productFields });
export const checkoutStartedEvent = baseEvent.extend({
  event_type: z.literal('checkout_started'),
  cart_value: money,
  item_count: integer('item_count'),
});
export const orderPlacedEvent = baseEvent.extend({
  event_type: z.literal('order_placed'),
  /** The order's id in the shop database (orders.order_id). */
  order_id: integer('order_id'),
  order_total: money,
  item_count: integer('item_count'),
});

export const shopEvent = z.discriminatedUnion('event_type', [
  pageViewEvent,
  productViewEvent,
  addToCartEvent,
  removeFromCartEvent,
  checkoutStartedEvent,
  orderPlacedEvent,
]);

export type ShopEvent = z.infer<typeof shopEvent>;
