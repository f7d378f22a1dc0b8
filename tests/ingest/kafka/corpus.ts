/**
 * The bad-input corpus of the Kafka ingestor: one entry per kind of input, each with the outcome
 * it must have. Raw entries are sent as they are (bytes, key and timestamp); console entries are
 * written by Kafka's own console producer, one per compression codec.
 */
import { randomUUID } from 'node:crypto';

import { INT4_MAX, MAX_EVENT_BYTES, MONEY_MAX } from '../../../lib/events/bounds.ts';
import type { DeadLetterCode } from '../../../ingest/kafka/decode.ts';

export type Outcome = { landed: true } | { landed: false; code: DeadLetterCode; reason: string };

export interface CorpusEntry {
  kind: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Producer timestamp; the send time when absent. */
  timestampMs?: number;
  outcome: Outcome;
}

type Fields = Record<string, unknown>;

/** A valid add_to_cart with a fresh event_id; `change` edits it as an object. */
export function cartEvent(change: (e: Fields) => void = () => undefined): Fields {
  const event: Fields = {
    schema_version: 1,
    event_id: randomUUID(),
    event_type: 'add_to_cart',
    event_time: '2026-03-01T10:00:00.000Z',
    session_id: 'corpus-session',
    customer_id: 42,
    anonymous_id: 'corpus-anon',
    device: 'mobile',
    country_code: 'DE',
    page_url: 'https://shop.example/p/7',
    referrer: null,
    product_id: 7,
    price: 19.99,
    quantity: 2,
  };
  change(event);
  return event;
}

const json = (e: Fields): Buffer => Buffer.from(JSON.stringify(e));
/** The event's JSON with one field's value written as `written`, verbatim. */
const spelled = (field: string, written: string, base: Fields = cartEvent()): Buffer =>
  Buffer.from(JSON.stringify({ ...base, [field]: `@@${field}@@` }).replace(`"@@${field}@@"`, written));

const KEY = Buffer.from('corpus-session');
const LANDED: Outcome = { landed: true };
const dead = (code: DeadLetterCode, reason: string): Outcome => ({ landed: false, code, reason });

export function rawCorpus(maxKeyBytes: number): CorpusEntry[] {
  const entry = (kind: string, value: Buffer | null, outcome: Outcome, extra: Partial<CorpusEntry> = {}): CorpusEntry => ({
    kind,
    key: KEY,
    value,
    outcome,
    ...extra,
  });
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  return [
    // Lands.
    entry('valid event', json(cartEvent()), LANDED),
    entry('text \\\\u0000 (escaped backslash, not a NUL)', spelled('referrer', '"C:\\\\u0000\\\\x"'), LANDED),
    entry('surrogate pair escape', spelled('referrer', '"\\ud83d\\ude00"'), LANDED),
    entry('money at numeric(12,2) max', json(cartEvent((e) => (e.price = MONEY_MAX))), LANDED),
    entry('money with trailing zero', spelled('price', '19.90'), LANDED),
    entry('money zero', json(cartEvent((e) => (e.price = 0))), LANDED),
    entry(
      'ids at 2^53-1',
      json(cartEvent((e) => ((e.customer_id = Number.MAX_SAFE_INTEGER), (e.product_id = Number.MAX_SAFE_INTEGER)))),
      LANDED,
    ),
    entry(
      'item_count at int4 max',
      json(
        cartEvent((e) =>
          Object.assign(e, {
            event_type: 'checkout_started',
            cart_value: 1,
            item_count: INT4_MAX,
            product_id: undefined,
            price: undefined,
            quantity: undefined,
          }),
        ),
      ),
      LANDED,
    ),
    entry('event time at the range start', json(cartEvent((e) => (e.event_time = '1970-01-01T00:00:00.000Z'))), LANDED),
    entry('event time at the range end', json(cartEvent((e) => (e.event_time = '2099-12-31T23:59:59.999Z'))), LANDED),
    entry('event time with an offset', json(cartEvent((e) => (e.event_time = '2026-03-01T10:00:00+14:00'))), LANDED),
    entry('pretty-printed JSON', Buffer.from(JSON.stringify(cartEvent(), null, '\t')), LANDED),
    entry(
      'duplicate key, last one valid',
      Buffer.from(JSON.stringify(cartEvent()).replace('"quantity":2', '"quantity":5000,"quantity":2')),
      LANDED,
    ),
    entry('Kafka timestamp 0 (unset producer clock)', json(cartEvent()), LANDED, { timestampMs: 0 }),
    entry('no key', json(cartEvent()), LANDED, { key: null }),
    entry('emoji key', json(cartEvent()), LANDED, { key: Buffer.from('sess-😀-ü') }),
    entry('key at the size limit', json(cartEvent()), LANDED, { key: Buffer.alloc(maxKeyBytes, 0x6b) }),

    // Dead letters: the envelope.
    entry('key past the size limit', json(cartEvent()), dead('oversized_key', 'KAFKA_MAX_KEY_BYTES'), {
      key: Buffer.alloc(maxKeyBytes + 1, 0x6b),
    }),
    entry('key not UTF-8', json(cartEvent()), dead('invalid_key', 'not valid UTF-8'), { key: Buffer.from([0x73, 0xff, 0xfe, 0x80, 0x73]) }),
    entry('key with NUL', json(cartEvent()), dead('invalid_key', 'NUL'), { key: Buffer.from('a\u0000b') }),
    entry(
      'Kafka timestamp past the JavaScript Date range',
      json(cartEvent()),
      dead('invalid_timestamp', 'Kafka record timestamp 9000000000000000 ms'),
      { timestampMs: 9e15 },
    ),
    entry('Kafka timestamp in year 2200', json(cartEvent()), dead('invalid_timestamp', 'outside the accepted range'), {
      timestampMs: Date.UTC(2200, 0, 1),
    }),
    entry('tombstone', null, dead('empty_message', 'no value')),
    entry('empty value', Buffer.alloc(0), dead('invalid_json', 'not valid JSON')),
    entry('oversized value', json(cartEvent((e) => (e.page_url = 'x'.repeat(MAX_EVENT_BYTES)))), dead('oversized', 'MAX_EVENT_BYTES')),
    entry('value not UTF-8', Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), dead('invalid_encoding', 'UTF-8')),
    entry('byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(cartEvent())]), dead('invalid_json', 'not valid JSON')),

    // Dead letters: JSON and the schema.
    entry('truncated JSON', Buffer.from('{"event_id": "x", '), dead('invalid_json', 'not valid JSON')),
    entry('NaN literal', spelled('price', 'NaN'), dead('invalid_json', 'not valid JSON')),
    entry('JSON array', Buffer.from('[1,2,3]'), dead('schema_violation', 'JSON object')),
    entry('JSON string', Buffer.from('"hello"'), dead('schema_violation', 'JSON object')),
    entry('array nested 20000 deep', Buffer.from(deep(20_000)), dead('schema_violation', 'JSON object')),
    entry(
      'extra field nested 20000 deep',
      Buffer.from(JSON.stringify(cartEvent()).replace(/}$/, `,"nest":${deep(20_000)}}`)),
      dead('schema_violation', 'nest: unknown field'),
    ),
    entry('extra field', json(cartEvent((e) => (e.coupon = 'SAVE10'))), dead('schema_violation', 'coupon: unknown field')),
    entry(
      'extra field named with NUL and a lone surrogate',
      Buffer.from(JSON.stringify(cartEvent()).replace(/}$/, ',"a\\u0000\\ud800":1}')),
      dead('schema_violation', 'unknown field'),
    ),
    entry('missing field', json(cartEvent((e) => delete e.session_id)), dead('schema_violation', 'session_id: missing')),
    entry('unknown event type', json(cartEvent((e) => (e.event_type = 'teleported'))), dead('schema_violation', 'event_type')),
    entry('schema version 2', json(cartEvent((e) => (e.schema_version = 2))), dead('schema_violation', 'schema_version')),
    entry('schema version written 1.0', spelled('schema_version', '1.0'), dead('schema_violation', 'schema_version: written as 1.0')),
    entry('integer written 2.0', spelled('quantity', '2.0'), dead('schema_violation', 'quantity: written as 2.0')),
    entry('integer written with exponent', spelled('product_id', '7e0'), dead('schema_violation', 'product_id: written as 7e0')),
    entry(
      'integer past int4',
      json(
        cartEvent((e) =>
          Object.assign(e, {
            event_type: 'checkout_started',
            cart_value: 1,
            item_count: INT4_MAX + 1,
            product_id: undefined,
            price: undefined,
            quantity: undefined,
          }),
        ),
      ),
      dead('schema_violation', 'item_count: must be <='),
    ),
    entry('id past 2^53', spelled('customer_id', '9007199254740993'), dead('schema_violation', 'customer_id')),
    entry('quantity past its bound', json(cartEvent((e) => (e.quantity = 1001))), dead('schema_violation', 'quantity: must be <= 1000')),
    entry('zero id', json(cartEvent((e) => (e.customer_id = 0))), dead('schema_violation', 'customer_id: must be >= 1')),
    entry('money past numeric(12,2)', spelled('price', '10000000000'), dead('schema_violation', 'price: must be at most')),
    entry('money with 3 decimals', spelled('price', '1.005'), dead('schema_violation', 'price')),
    entry('money with an exponent', spelled('price', '1e2'), dead('schema_violation', 'price: written as 1e2')),
    entry(
      'money 0.1 written with 17 decimals',
      spelled('price', '0.10000000000000001'),
      dead('schema_violation', 'price: written as 0.10000000000000001'),
    ),
    entry('negative money', json(cartEvent((e) => (e.price = -5))), dead('schema_violation', 'price: must be >= 0')),
    entry(
      'event time in year 9999',
      json(cartEvent((e) => (e.event_time = '9999-12-31T00:00:00.000Z'))),
      dead('schema_violation', 'event_time: must be from 1970'),
    ),
    entry(
      'event time in year 0001',
      json(cartEvent((e) => (e.event_time = '0001-01-01T00:00:00Z'))),
      dead('schema_violation', 'event_time: must be from 1970'),
    ),
    entry(
      'event time just before 1970',
      json(cartEvent((e) => (e.event_time = '1969-12-31T23:59:59.999Z'))),
      dead('schema_violation', 'event_time'),
    ),
    entry('event time not ISO', json(cartEvent((e) => (e.event_time = 'yesterday'))), dead('schema_violation', 'event_time')),
    entry('session id past 64 characters', json(cartEvent((e) => (e.session_id = 's'.repeat(65)))), dead('schema_violation', 'session_id')),
    entry('country code lower case', json(cartEvent((e) => (e.country_code = 'de'))), dead('schema_violation', 'country_code')),

    // Dead letters: what Postgres jsonb would refuse.
    entry('NUL escape in a string', spelled('referrer', '"a\\u0000b"'), dead('unsupported_json', 'referrer contains \\u0000')),
    entry('lone surrogate escape', spelled('referrer', '"a\\ud800b"'), dead('unsupported_json', 'surrogate')),
  ];
}

export const CONSOLE_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type ConsoleCodec = (typeof CONSOLE_CODECS)[number];

/** Lines for the console producer (`key|value`): valid events and one invalid JSON line, per codec. */
export function consoleLines(codec: ConsoleCodec, valid: number): { lines: string[]; eventIds: string[]; invalid: string } {
  const eventIds: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < valid; i += 1) {
    const event = cartEvent((e) => (e.session_id = `console-${codec}-${i % 7}`));
    eventIds.push(event.event_id as string);
    lines.push(`${String(event.session_id)}|${JSON.stringify(event)}`);
  }
  const invalid = `{"codec": "${codec}", "broken": `;
  lines.splice(Math.floor(valid / 2), 0, `console-${codec}-bad|${invalid}`);
  return { lines, eventIds, invalid };
}
