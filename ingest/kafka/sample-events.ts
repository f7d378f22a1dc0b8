/**
 * Deterministic sample clickstream for tests and benchmarks: valid events built against the
 * shared schema (so a schema change breaks them loudly), plus one example of each kind of bad
 * input the ingestor must dead-letter. Not a generator of realistic shops (that is generator/).
 */
import { randomUUID } from 'node:crypto';

import { MAX_EVENT_BYTES } from '../../lib/events/bounds.ts';
import { DEVICES, EVENT_SCHEMA_VERSION, EVENT_TYPES, shopEvent, type ShopEvent } from '../../lib/events/schema.ts';
import type { DeadLetterCode } from './decode.ts';

/** A small linear congruential generator: same seed, same events, no dependency. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const COUNTRIES = ['US', 'DE', 'FR', 'GB', 'NL', 'ES', 'IT', 'PL', 'SE', 'BR'];

/** Event `index` of a stream; event ids are unique per call unless `eventId` is given. */
export function sampleEvent(index: number, random: () => number, eventTimeMs = Date.UTC(2024, 0, 1) + index * 1000): ShopEvent {
  const type = EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)]!;
  const session = `s-${Math.floor(random() * 5000)}`;
  const base = {
    schema_version: EVENT_SCHEMA_VERSION,
    event_id: randomUUID(),
    event_time: new Date(eventTimeMs).toISOString(),
    session_id: session,
    customer_id: random() < 0.6 ? 1 + Math.floor(random() * 10_000) : null,
    anonymous_id: `a-${session}`,
    device: DEVICES[Math.floor(random() * DEVICES.length)]!,
    country_code: COUNTRIES[Math.floor(random() * COUNTRIES.length)]!,
    page_url: `https://shop.example/p/${Math.floor(random() * 1000)}`,
    referrer: random() < 0.5 ? null : 'https://search.example/',
  } as const;
  const price = Math.round(random() * 50_000) / 100;
  const quantity = 1 + Math.floor(random() * 4);
  const product_id = 1 + Math.floor(random() * 2000);
  switch (type) {
    case 'page_view':
      return { ...base, event_type: type };
    case 'product_view':
      return { ...base, event_type: type, product_id, price };
    case 'add_to_cart':
    case 'remove_from_cart':
      return { ...base, event_type: type, product_id, price, quantity };
    case 'checkout_started':
      return { ...base, event_type: type, cart_value: price, item_count: quantity };
    case 'order_placed':
      return { ...base, event_type: type, order_id: 1 + index, order_total: price, item_count: quantity };
  }
}

export interface SampleMessage {
  key: string;
  value: string | Buffer | null;
}

/** A valid event as a Kafka message (key = session_id), checked against the schema. */
export function sampleMessage(index: number, random: () => number): SampleMessage {
  const event = shopEvent.parse(sampleEvent(index, random));
  return { key: event.session_id, value: JSON.stringify(event) };
}

export interface MalformedCase {
  name: string;
  expectedCode: DeadLetterCode;
  /** A word the dead letter's reason must contain (the field or the problem). */
  reasonMentions: string;
  message: SampleMessage;
}

/** One message per kind of bad input, each with the error code and reason it must produce. */
export function malformedCases(random: () => number): MalformedCase[] {
  const valid = () => sampleEvent(0, random) as Record<string, unknown>;
  const withChange = (change: (e: Record<string, unknown>) => void) => {
    // Without the fields of the sampled type, which an add_to_cart must not carry (the schema is strict).
    const { cart_value: _c, item_count: _i, order_id: _o, order_total: _t, ...common } = valid();
    const event = { ...common, event_type: 'add_to_cart', product_id: 7, price: 9.99, quantity: 1 } as Record<string, unknown>;
    change(event);
    return { key: 'bad-session', value: JSON.stringify(event) };
  };
  return [
    {
      name: 'invalid JSON',
      expectedCode: 'invalid_json',
      reasonMentions: 'JSON',
      message: { key: 'bad-session', value: '{"event_id": "x", ' },
    },
    {
      name: 'not an object',
      expectedCode: 'schema_violation',
      reasonMentions: 'object',
      message: { key: 'bad-session', value: '[1,2,3]' },
    },
    {
      name: 'missing field',
      expectedCode: 'schema_violation',
      reasonMentions: 'session_id: missing',
      message: withChange((e) => delete e.session_id),
    },
    { name: 'wrong type', expectedCode: 'schema_violation', reasonMentions: 'quantity', message: withChange((e) => (e.quantity = 'two')) },
    {
      name: 'negative price',
      expectedCode: 'schema_violation',
      reasonMentions: 'price: must be >= 0',
      message: withChange((e) => (e.price = -5)),
    },
    {
      name: 'unknown event type',
      expectedCode: 'schema_violation',
      reasonMentions: 'event_type',
      message: withChange((e) => (e.event_type = 'teleported')),
    },
    {
      name: 'bad timestamp',
      expectedCode: 'schema_violation',
      reasonMentions: 'event_time',
      message: withChange((e) => (e.event_time = 'yesterday')),
    },
    {
      name: 'oversized',
      expectedCode: 'oversized',
      reasonMentions: 'MAX_EVENT_BYTES',
      message: withChange((e) => (e.page_url = 'x'.repeat(MAX_EVENT_BYTES))),
    },
    {
      name: 'invalid UTF-8',
      expectedCode: 'invalid_encoding',
      reasonMentions: 'UTF-8',
      message: { key: 'bad-session', value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
    },
    {
      name: 'empty value (tombstone)',
      expectedCode: 'empty_message',
      reasonMentions: 'no value',
      message: { key: 'bad-session', value: null },
    },
    // A valid ISO instant, but outside the contract's event-time range (lib/events/bounds.ts).
    {
      name: 'year 0000',
      expectedCode: 'schema_violation',
      reasonMentions: 'event_time: must be from 1970',
      message: withChange((e) => (e.event_time = '0000-01-01T00:00:00Z')),
    },
    {
      name: 'NUL escape jsonb refuses',
      expectedCode: 'unsupported_json',
      reasonMentions: '\\u0000',
      message: withChange((e) => (e.referrer = 'a\u0000b')),
    },
  ];
}
