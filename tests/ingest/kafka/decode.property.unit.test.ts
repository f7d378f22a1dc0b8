/**
 * Properties of the decoder over generated input (fast-check): whatever it admits satisfies the
 * contract's bounds, checked here independently of the schema (a flat scan of the JSON text for
 * how each number is written); whatever it refuses becomes a dead letter holding the exact key
 * and value bytes. A failure here once meant an event that broke `dbt build` on every run, or a
 * dead letter that no longer held what was sent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DEAD_LETTER_CODES, decodeMessage, EVENT_COLUMNS, KAFKA_TIMESTAMP_FIELD, KEY_FIELD } from '../../../ingest/kafka/decode.ts';
import { EVENT_TIME_END_MS, EVENT_TIME_MIN_MS, INTEGER_BOUNDS, MONEY_FIELDS, STRING_MAX } from '../../../lib/events/bounds.ts';
import type { SourceMessage } from '../../../lib/kafka/source.ts';
import { boundedEvent, COMMON_FIELDS, instant, TYPE_FIELDS } from '../../lib/events/arbitraries.ts';

const MAX_KEY_BYTES = 64;

/** Ways to spell a number that parse to an admitted value but are not what the warehouse types take. */
const respelled = (n: number) => fc.constantFrom(`${n}.0`, `${n}e0`, `${n}.000`, `${n}E+0`, `${n}.0000000000000000001`);

/** Text of a bounded event, possibly with one field replaced by other JSON text, or the text itself broken. */
const messageText = fc.oneof(
  { weight: 4, arbitrary: boundedEvent.map((e) => JSON.stringify(e)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        boundedEvent,
        fc.oneof(
          fc.json({ maxDepth: 3 }),
          fc.integer().chain(respelled),
          fc.constantFrom('"a\\u0000"', '"\\ud800"', '"\\\\u0000"', '1e400', '-0', 'null'),
        ),
      )
      .chain(([event, replacement]) =>
        fc
          .constantFrom(...Object.keys(event), 'extra')
          .map((field) => JSON.stringify({ ...event, [field]: '@@here@@' }).replace('"@@here@@"', replacement)),
      ),
  },
  { weight: 1, arbitrary: fc.tuple(boundedEvent, fc.nat()).map(([e, cut]) => JSON.stringify(e).slice(0, cut % 200)) },
  { weight: 1, arbitrary: fc.json() },
);

const messageValue = fc.oneof(
  { weight: 8, arbitrary: messageText.map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constant(null) },
);
const messageKey = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: MAX_KEY_BYTES + 10 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constant(null) },
);
const timestamp = fc.oneof(
  { weight: 6, arbitrary: instant },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 8.64e15, 8.64e15 + 1, -8.64e15 - 1, Number.NaN, 9.223372036854776e18) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, min: -1e19, max: 1e19 }).map(Math.trunc) },
);

/** Top-level `"key": <raw value text>` pairs of a flat JSON object, read without JSON.parse. */
function rawFields(json: string): Map<string, string> {
  const fields = new Map<string, string>();
  let i = json.indexOf('{') + 1;
  const skipSpace = () => {
    while (/\s/.test(json[i] ?? '')) i += 1;
  };
  const readString = () => {
    const start = i;
    i += 1;
    while (json[i] !== '"') i += json[i] === '\\' ? 2 : 1;
    i += 1;
    return json.slice(start, i);
  };
  for (;;) {
    skipSpace();
    if (json[i] === '}' || i >= json.length) return fields;
    const key = JSON.parse(readString()) as string;
    skipSpace();
    i += 1; // ':'
    skipSpace();
    const start = i;
    if (json[i] === '"') readString();
    else while (i < json.length && !/[\s,}]/.test(json[i]!)) i += 1;
    fields.set(key, json.slice(start, i));
    skipSpace();
    if (json[i] === ',') i += 1;
  }
}

function unescapeCopy(value: string): string {
  return value.replace(/\\([\\ntr])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
}

/** The bounds, stated again without the schema: what staging needs of an admitted payload. */
function boundProblems(payloadText: string): string[] {
  const problems: string[] = [];
  const value = JSON.parse(payloadText) as Record<string, unknown>;
  const raw = rawFields(payloadText);
  const type = value.event_type as string;
  const allowed = new Set([...COMMON_FIELDS, ...(TYPE_FIELDS[type] ?? [])]);
  if (!TYPE_FIELDS[type]) problems.push(`event_type ${type}`);
  for (const key of raw.keys()) if (!allowed.has(key)) problems.push(`extra field ${key}`);
  for (const [field, bound] of Object.entries(INTEGER_BOUNDS)) {
    if (!raw.has(field) || raw.get(field) === 'null') continue;
    const written = raw.get(field)!;
    if (!/^-?\d+$/.test(written)) problems.push(`${field} written ${written}`);
    else if (BigInt(written) < BigInt(bound.min) || BigInt(written) > BigInt(bound.max)) problems.push(`${field} = ${written}`);
  }
  for (const field of MONEY_FIELDS) {
    if (!raw.has(field)) continue;
    const written = raw.get(field)!;
    // -0 is zero to numeric; any other sign is refused by the >= 0 rule.
    const match = /^-?(\d+)(?:\.(\d{1,2}))?$/.exec(written);
    if (!match || match[1]!.replace(/^0+(?=\d)/, '').length > 10 || Number(written) < 0) problems.push(`${field} written ${written}`);
  }
  const ms = Date.parse(value.event_time as string);
  if (!(ms >= EVENT_TIME_MIN_MS && ms < EVENT_TIME_END_MS)) problems.push(`event_time ${String(value.event_time)}`);
  for (const [field, max] of Object.entries(STRING_MAX)) {
    const v = value[field];
    if (v !== null && (typeof v !== 'string' || v.length > max)) problems.push(`${field} length`);
  }
  for (const v of Object.values(value))
    if (typeof v === 'string' && (v.includes('\u0000') || /[\uD800-\uDFFF]/.test(v.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))))
      problems.push('jsonb-refused string');
  return problems;
}

describe('decodeMessage properties', () => {
  it('admits only what the bounds allow, and keeps the exact bytes of everything it refuses', () => {
    let admitted = 0;
    let refused = 0;
    fc.assert(
      fc.property(messageKey, messageValue, timestamp, fc.bigInt({ min: 0n, max: 2n ** 62n }), (key, value, timestampMs, offset) => {
        const message: SourceMessage = { offset, key, value, timestampMs };
        const decoded = decodeMessage('t', 3, message, { maxKeyBytes: MAX_KEY_BYTES });
        if (decoded.ok) {
          admitted += 1;
          const fields = decoded.line.slice(0, -1).split('\t');
          expect(fields).toHaveLength(EVENT_COLUMNS.length);
          const payload = value!.toString('utf8');
          expect(fields[KEY_FIELD] === '\\N' ? null : Buffer.from(unescapeCopy(fields[KEY_FIELD]!))).toEqual(key);
          expect(key === null || key.length <= MAX_KEY_BYTES).toBe(true);
          expect(boundProblems(payload)).toEqual([]);
          const kafkaTime = fields[KAFKA_TIMESTAMP_FIELD]!;
          if (kafkaTime !== '\\N')
            expect(Date.parse(kafkaTime) >= EVENT_TIME_MIN_MS && Date.parse(kafkaTime) < EVENT_TIME_END_MS).toBe(true);
        } else {
          refused += 1;
          const letter = decoded.deadLetter;
          expect(DEAD_LETTER_CODES).toContain(letter.code);
          expect(letter.reason.length).toBeGreaterThan(0);
          expect(letter.offset).toBe(offset);
          expect(letter.key === null ? key === null : key !== null && letter.key.equals(key)).toBe(true);
          expect(letter.value === null ? value === null : value !== null && letter.value.equals(value)).toBe(true);
        }
      }),
      { numRuns: 600, seed: 20_261_206 },
    );
    // Both sides were exercised (the generators are not all-bad or all-good).
    expect(admitted).toBeGreaterThan(60);
    expect(refused).toBeGreaterThan(60);
  });

  it('admits every bounded event written as JSON.stringify writes it', () => {
    fc.assert(
      fc.property(boundedEvent, (event) => {
        const text = JSON.stringify(event);
        // NUL is the one character jsonb refuses that a generated string can hold.
        fc.pre(Object.values(event).every((v) => typeof v !== 'string' || !v.includes('\u0000')));
        const decoded = decodeMessage('t', 0, {
          offset: 0n,
          key: Buffer.from('k'),
          value: Buffer.from(text),
          timestampMs: Date.UTC(2026, 0, 1),
        });
        expect(decoded.ok ? 'ok' : decoded.deadLetter.reason).toBe('ok');
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
