/**
 * The ingestor's fast path (ingest/kafka/fast-line.ts) against the reference decoder
 * (decodeMessage), over generated and mutated messages (fast-check): whenever the fast path takes
 * a message, the reference admits it too and makes the very same COPY line, byte for byte. A
 * failure here means an event the contract refuses landing anyway, or an admitted event landing
 * with other values than the reference would give it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { decodeMessage } from '../../../ingest/kafka/decode.ts';
import { LineWriter, linePrefix, writeFastLine } from '../../../ingest/kafka/fast-line.ts';
import { malformedCases, sampleMessage, seededRandom } from '../../../ingest/kafka/sample-events.ts';
import { MONEY_MAX } from '../../../lib/events/bounds.ts';
import type { SourceMessage } from '../../../lib/kafka/source.ts';
import { boundedEvent, instant } from '../../lib/events/arbitraries.ts';

const LIMITS = { maxKeyBytes: 64 };

/** Texts a field's value may be replaced with: the awkward spellings of numbers, strings and literals. */
const awkwardValue = fc.oneof(
  fc.constantFrom(
    '1.50',
    '1.5',
    '0',
    '00',
    '01',
    '1e2',
    '1E2',
    '-1',
    '-0',
    '2.0',
    '0.10',
    '0.01',
    '1.',
    '.5',
    '1.005',
    '9999999999.99',
    '9999999999.9',
    '10000000000',
    '10000000000.5',
    String(MONEY_MAX),
    '9007199254740991',
    '9007199254740992',
    '99999999999999999',
    '1000',
    '1001',
    '2147483647',
    '2147483648',
    'null',
    'nul',
    'true',
    'false',
    '[]',
    '{}',
    '""',
    '"x"',
    '"\\u0041"',
    '"a\\"b"',
    '"tab\there"',
    '"mobile"',
    '"mobilee"',
    '"DE"',
    '"de"',
    '"D"',
    '"page_view"',
    '"2024-02-29T00:00:00.000Z"',
    '"2023-02-29T00:00:00.000Z"',
    '"2024-01-01T00:00:00Z"',
    '"2024-01-01T00:00:00.000+00:00"',
    '"2100-01-01T00:00:00.000Z"',
    '"1969-12-31T23:59:59.999Z"',
    '"00000000-0000-1000-8000-000000000000"',
    '"00000000-0000-0000-8000-000000000000"',
    '"00000000-0000-1000-c000-000000000000"',
  ),
  fc.integer({ min: -5, max: 3_000_000_000 }).map(String),
  fc.integer({ min: 0, max: 999_999_999_999 }).map((cents) => String(cents / 100)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.string({ unit: 'binary', maxLength: 70 }).map((s) => JSON.stringify(s)),
);

const FIELD_NAMES = [
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
  'product_id',
  'price',
  'quantity',
  'cart_value',
  'item_count',
  'order_id',
  'order_total',
  'extra',
];

/** JSON text of an event: as JSON.stringify writes it, reordered, spaced out, with a field re-spelled, added twice, or cut short. */
const messageText = fc.oneof(
  { weight: 3, arbitrary: boundedEvent.map((e) => JSON.stringify(e)) },
  {
    weight: 2,
    arbitrary: fc.tuple(boundedEvent, fc.constantFrom(' ', '\t', '\n', '\r\n', '  ')).chain(([e, space]) =>
      fc.shuffledSubarray(Object.entries(e), { minLength: Object.keys(e).length }).map((entries) => {
        const parts = entries.map(([k, v]) => `${space}${JSON.stringify(k)}${space}:${space}${JSON.stringify(v)}${space}`);
        return `${space}{${parts.join(',')}}${space}`;
      }),
    ),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(boundedEvent, fc.constantFrom(...FIELD_NAMES), awkwardValue)
      .map(([e, field, text]) => JSON.stringify({ ...e, [field]: '@@here@@' }).replace('"@@here@@"', text)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(boundedEvent, fc.constantFrom(...FIELD_NAMES), awkwardValue)
      .map(([e, field, text]) => `${JSON.stringify(e).slice(0, -1)},${JSON.stringify(field)}:${text}}`),
  },
  { weight: 1, arbitrary: fc.tuple(boundedEvent, fc.nat()).map(([e, cut]) => JSON.stringify(e).slice(0, cut % 400)) },
  { weight: 1, arbitrary: fc.json() },
);

/**
 * Byte sequences put inside a string value: valid UTF-8 past ASCII (two- and four-byte) and the
 * invalid kinds (a lone continuation or lead, an overlong form, an encoded surrogate, past
 * U+10FFFF, a cut sequence). The fast path checks UTF-8 only when a string holds such a byte.
 */
const bytesInString = fc
  .tuple(
    boundedEvent,
    fc.constantFrom('session_id', 'anonymous_id', 'page_url', 'referrer'),
    fc.constantFrom(
      [0xc3, 0xa9],
      [0xf0, 0x9f, 0x98, 0x80],
      [0xff],
      [0x80],
      [0xc3],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ),
    fc.nat(3),
  )
  .map(([e, field, bytes, at]) => {
    const [before, after] = JSON.stringify({ ...e, [field]: 'ab@@here@@cd' }).split('@@here@@') as [string, string];
    const head = Buffer.from(before.slice(0, before.length - 2 + Math.min(at, 2)));
    return Buffer.concat([head, Buffer.from(bytes), Buffer.from(before.slice(head.length)), Buffer.from(after)]);
  });

const messageValue = fc.oneof(
  { weight: 12, arbitrary: messageText.map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: bytesInString },
  { weight: 1, arbitrary: messageText.map((t) => Buffer.concat([Buffer.from(t), Buffer.from([0xff])])) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constant(null) },
);
const messageKey = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.constantFrom('s-1', 'a\\b', 'tab\there', 'line\nbreak', 'cr\r', 'nul\u0000').map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: LIMITS.maxKeyBytes + 10 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constant(null) },
);
const timestamp = fc.oneof(
  { weight: 6, arbitrary: instant },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 8.64e15, Number.NaN, 4_102_444_800_000, 4_102_444_799_999, -2) },
);
const topic = fc.constantFrom('shop.events', 'a\tb', 'back\\slash');

describe('writeFastLine', () => {
  it('takes a message only when decodeMessage admits it, and then writes the same COPY line', () => {
    let fast = 0;
    let referred = 0;
    const out = new LineWriter(16); // small, so the writer grows mid-line
    fc.assert(
      fc.property(
        topic,
        fc.nat(1000),
        messageKey,
        messageValue,
        timestamp,
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        (t, p, key, value, ts, offset) => {
          const message: SourceMessage = { offset, key, value, timestampMs: ts };
          out.pos = 0;
          const taken = writeFastLine(out, linePrefix(t, p), message, LIMITS);
          const reference = decodeMessage(t, p, message, LIMITS);
          if (!taken) {
            referred += 1;
            expect(out.pos).toBe(0);
            return;
          }
          fast += 1;
          expect(reference.ok).toBe(true);
          if (reference.ok) expect(out.take().toString('utf8')).toBe(reference.line);
        },
      ),
      { numRuns: 2000, seed: 20_261_206 },
    );
    // Both paths were exercised: the generators are neither all plain nor all awkward.
    expect(fast).toBeGreaterThan(500);
    expect(referred).toBeGreaterThan(500);
  });

  it('takes every event the sample stream writes (the bench and the tests), so the reference runs only on the unusual', () => {
    const random = seededRandom(42);
    const out = new LineWriter();
    for (let i = 0; i < 5_000; i++) {
      const m = sampleMessage(i, random);
      const message: SourceMessage = {
        offset: BigInt(i),
        key: Buffer.from(m.key),
        value: Buffer.from(m.value as string),
        timestampMs: 1_700_000_000_000 + i,
      };
      expect(writeFastLine(out, linePrefix('shop.events', 0), message, LIMITS), String(m.value)).toBe(true);
    }
  });

  it('leaves every malformed sample to the reference', () => {
    const out = new LineWriter();
    for (const c of malformedCases(seededRandom(5))) {
      const message: SourceMessage = {
        offset: 1n,
        key: c.message.key === null ? null : Buffer.from(c.message.key),
        value: c.message.value === null ? null : Buffer.from(c.message.value),
        timestampMs: 1_700_000_000_000,
      };
      const reference = decodeMessage('t', 0, message, LIMITS);
      if (reference.ok) continue; // warehouse_rejected cases pass the decoder by design
      expect(writeFastLine(out, linePrefix('t', 0), message, LIMITS), c.name).toBe(false);
    }
  });
});
