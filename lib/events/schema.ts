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

export const EVENT_SCHEMA_VERSION = 1;

export const EVENT_TYPES = [
  'page_view',
  'product_view',
  'add_to_cart',
  'remove_from_cart',
  'checkout_started',
  'order_placed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const DEVICES = ['desktop', 'mobile', 'tablet'] as const;

const isoTimestamp = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 timestamp with a zone, e.g. 2026-01-31T12:00:00.000Z' });
const money = z.number().finite().nonnegative({ message: 'must be >= 0' }).multipleOf(0.01, { message: 'must have at most 2 decimals' });

/** Fields every event carries. */
const baseEvent = z.object({
  schema_version: z.literal(EVENT_SCHEMA_VERSION),
  event_id: z.uuid({ message: 'must be a UUID' }),
  event_time: isoTimestamp,
  session_id: z.string().min(1).max(64),
  /** Signed-in customer; null for anonymous visitors. */
  customer_id: z.number().int().positive().nullable(),
  /** Stable cookie id of the browser; present for anonymous and signed-in visitors alike. */
  anonymous_id: z.string().min(1).max(64),
  device: z.enum(DEVICES),
  /** ISO 3166-1 alpha-2 country of the visitor. */
  country_code: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'),
  page_url: z.string().max(2048).nullable(),
  referrer: z.string().max(2048).nullable(),
});

const productFields = {
  product_id: z.number().int().positive(),
  price: money,
  quantity: z.number().int().positive().max(1000),
};

export const pageViewEvent = baseEvent.extend({ event_type: z.literal('page_view') });
export const productViewEvent = baseEvent.extend({ event_type: z.literal('product_view'), product_id: productFields.product_id, price: money });
export const addToCartEvent = baseEvent.extend({ event_type: z.literal('add_to_cart'), ...productFields });
export const removeFromCartEvent = baseEvent.extend({ event_type: z.literal('remove_from_cart'), ...productFields });
export const checkoutStartedEvent = baseEvent.extend({
  event_type: z.literal('checkout_started'),
  cart_value: money,
  item_count: z.number().int().positive(),
});
export const orderPlacedEvent = baseEvent.extend({
  event_type: z.literal('order_placed'),
  /** The order's id in the shop database (orders.order_id). */
  order_id: z.number().int().positive(),
  order_total: money,
  item_count: z.number().int().positive(),
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

/** Largest message value accepted, in bytes; larger ones are dead-lettered as `oversized`. */
export const MAX_EVENT_BYTES = 64 * 1024;
