/**
 * Our record encoding must produce exactly the bytes the client library's own record encoder
 * produces for the same records (offset deltas 0..n-1, timestamp delta 0, no headers), across
 * the varint size boundaries and for non-ASCII text.
 */
import { createRequire } from 'node:module';

import { describe, expect, it } from 'vitest';

import { RecordsBuilder } from '../../../lib/kafka/record-batch.ts';

const require = createRequire(import.meta.url);
type LibraryRecord = (record: { offsetDelta: number; timestampDelta: number; key: Buffer; value: Buffer }) => { buffer: Buffer };
const libraryRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as LibraryRecord;

function libraryBytes(messages: readonly { key: string; value: string }[]): Buffer {
  return Buffer.concat(
    messages.map(
      (m, i) => libraryRecord({ offsetDelta: i, timestampDelta: 0, key: Buffer.from(m.key), value: Buffer.from(m.value) }).buffer,
    ),
  );
}

describe('RecordsBuilder', () => {
  it('encodes records byte for byte like the client library', () => {
    const messages: { key: string; value: string }[] = [];
    // Value sizes around each varint boundary (zigzag doubles: 63/64, 8191/8192, ...), keys of
    // several sizes, multi-byte characters, and enough records for a two-byte offset delta.
    for (const size of [0, 1, 63, 64, 65, 8_191, 8_192, 8_193, 1_048_575, 1_048_576])
      messages.push({ key: `k${size}`, value: 'v'.repeat(size) });
    messages.push({ key: '', value: '{}' }, { key: 'ünïcødé-ключ-鍵', value: JSON.stringify({ text: 'ünïcødé 🔑', n: 1 }) });
    for (let i = 0; i < 200; i++) messages.push({ key: crypto.randomUUID(), value: JSON.stringify({ i, pad: 'x'.repeat(i * 3) }) });

    const builder = new RecordsBuilder(16);
    for (const m of messages) builder.append(m.key, m.value);
    expect(builder.count).toBe(messages.length);
    const taken = builder.take();

    expect(taken.count).toBe(messages.length);
    expect(taken.buffer.equals(libraryBytes(messages))).toBe(true);
  });

  it('starts over empty after take()', () => {
    const builder = new RecordsBuilder();
    builder.append('a', 'first');
    builder.take();
    builder.append('b', 'second');
    const taken = builder.take();
    expect(taken.count).toBe(1);
    expect(taken.buffer.equals(libraryBytes([{ key: 'b', value: 'second' }]))).toBe(true);
    expect(builder.count).toBe(0);
    expect(builder.bytes).toBe(0);
  });

  it('records() hands out the records in place; after clear() the same buffer takes the next ones', () => {
    const builder = new RecordsBuilder(1024);
    builder.append('a', 'first');
    builder.append('b', 'second');
    const first = builder.records();
    expect(first.count).toBe(2);
    expect(
      first.buffer.equals(
        libraryBytes([
          { key: 'a', value: 'first' },
          { key: 'b', value: 'second' },
        ]),
      ),
    ).toBe(true);
    builder.clear();
    expect([builder.count, builder.bytes]).toEqual([0, 0]);
    builder.append('c', 'third');
    const second = builder.records();
    expect(second.buffer.equals(libraryBytes([{ key: 'c', value: 'third' }]))).toBe(true);
    expect(second.buffer.buffer).toBe(first.buffer.buffer);
  });
});
