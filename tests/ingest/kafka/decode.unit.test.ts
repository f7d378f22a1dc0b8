import { describe, expect, it } from 'vitest';

import { decodeMessage, EVENT_COLUMNS, isoTimestamp, KAFKA_TIMESTAMP_FIELD } from '../../../ingest/kafka/decode.ts';
import { EVENT_BODY_COLUMNS } from '../../../lib/events/columns.ts';
import { malformedCases, sampleMessage, seededRandom } from '../../../ingest/kafka/sample-events.ts';
import type { SourceMessage } from '../../../lib/kafka/source.ts';

const asSource = (offset: number, key: string | null, value: string | Buffer | null, timestampMs = 1_700_000_000_000): SourceMessage => ({
  offset: BigInt(offset),
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
  timestampMs,
});

describe('decodeMessage', () => {
  it('turns a valid event into one COPY line of typed columns (lib/events/columns.ts)', () => {
    const { key, value } = sampleMessage(1, seededRandom(3));
    const decoded = decodeMessage('shop.events', 2, asSource(41, key, value));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const fields = decoded.line.slice(0, -1).split('\t');
    expect(fields).toHaveLength(EVENT_COLUMNS.length);
    const event = JSON.parse(value as string) as Record<string, unknown>;
    expect(fields.slice(0, 7)).toEqual(['shop.events', '2', '41', key, event.event_id, event.event_type, event.event_time]);
    expect(fields[KAFKA_TIMESTAMP_FIELD]).toBe(new Date(1_700_000_000_000).toISOString());
    // Every other contract field in its column: its value as text, or \N where the event has none.
    for (const { name } of EVENT_BODY_COLUMNS) {
      const sent = event[name];
      expect(fields[EVENT_COLUMNS.indexOf(name)], name).toBe(sent === undefined || sent === null ? '\\N' : String(sent));
    }
  });

  it('escapes backslashes, tabs and newlines inside values for COPY text format', () => {
    const { key, value } = sampleMessage(1, seededRandom(4));
    const event = JSON.parse(value as string) as Record<string, unknown>;
    event.page_url = 'a"b\\c\td\ne';
    const pretty = JSON.stringify(event, null, '\t');
    const decoded = decodeMessage('t', 0, asSource(0, key, pretty));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const pageUrl = decoded.line.slice(0, -1).split('\t')[EVENT_COLUMNS.indexOf('page_url')]!;
    expect(pageUrl).toBe('a"b\\\\c\\td\\ne');
  });

  for (const c of malformedCases(seededRandom(5)).filter((m) => m.expectedCode !== 'warehouse_rejected')) {
    it(`dead-letters ${c.name} as ${c.expectedCode}, naming the problem`, () => {
      const decoded = decodeMessage('t', 1, asSource(9, c.message.key, c.message.value));
      expect(decoded.ok).toBe(false);
      if (decoded.ok) return;
      expect(decoded.deadLetter.code).toBe(c.expectedCode);
      expect(decoded.deadLetter.reason).toContain(c.reasonMentions);
      expect(decoded.deadLetter.offset).toBe(9n);
      // The original bytes are kept exactly.
      expect(decoded.deadLetter.value).toEqual(c.message.value === null ? null : Buffer.from(c.message.value));
    });
  }

  it('lists every schema problem of a message, not only the first', () => {
    const decoded = decodeMessage('t', 0, asSource(0, 'k', JSON.stringify({ event_type: 'add_to_cart', price: -1, quantity: 'x' })));
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.deadLetter.reason).toContain('price: must be >= 0');
    expect(decoded.deadLetter.reason).toContain('quantity:');
    expect(decoded.deadLetter.reason).toContain('event_id: missing');
    expect((decoded.deadLetter.details.issues as unknown[]).length).toBeGreaterThan(5);
  });
});

describe('isoTimestamp', () => {
  it('writes what toISOString writes, within a second, across seconds and at the ends of the range', () => {
    const random = seededRandom(9);
    const values = [0, 1, 999, 1000, -1, -1500, Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), 1.5, 1_700_000_000_999];
    for (let ms = 1_700_000_000_000; ms < 1_700_000_003_000; ms += 7) values.push(ms, ms - 5000);
    for (let i = 0; i < 5000; i += 1) values.push(Math.floor(random() * Date.UTC(9999, 0, 1)));
    for (const ms of values) expect(isoTimestamp(ms), String(ms)).toBe(new Date(ms).toISOString());
  });
});
