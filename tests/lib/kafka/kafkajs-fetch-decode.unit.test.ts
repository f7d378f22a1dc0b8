/**
 * The fetch-side part of patches/kafkajs+2.2.4.patch: a record's timestamp and offset are its
 * batch's first timestamp and offset plus small deltas, computed as numbers when they are exact
 * (the library parsed and printed BigInts for every record of every fetch), and a batch keeps
 * the records at or after the fetched offset by comparing decimal texts. These pin that the
 * results are the library's own, read as 64-bit integers, over generated record batches
 * (offsets and timestamps on both sides of 2^53, deltas too wide for a number, negative
 * timestamps, headers, null keys and values, gzip-compressed batches) written by the library's
 * encoder. Records are read in place from the batch (no Buffer slice and decoder per record); a
 * record whose fields run past its stated length is read from its own slice, as before.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

interface LongValue {
  value: bigint;
}
interface KafkajsDecoder {
  offset: number;
}
interface DecodedRecord {
  offset: string;
  timestamp: string;
  /** The patch's exact numbers (NaN when the value is past 2^53). */
  offsetNumber: number;
  timestampNumber: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}
const Long = require('kafkajs/src/utils/long') as { fromValue(v: bigint | number | string): LongValue };
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => KafkajsDecoder;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(options: Record<string, unknown>): Promise<{ buffer: Buffer }>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: Record<string, unknown>) => unknown;
const { Types: Compression } = require('kafkajs/src/protocol/message/compression') as { Types: { None: number; GZIP: number } };
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: KafkajsDecoder,
) => Promise<{ records: DecodedRecord[] }>;
const Batch = require('kafkajs/src/consumer/batch') as new (
  topic: string,
  fetchedOffset: string,
  partitionData: { partition: number; highWatermark: string; messages: readonly { offset: string; key: Buffer | null }[] },
) => { messages: { offset: string }[] };

const INT64_MAX = 2n ** 63n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Values that matter for a number path: small, near 2^53 on both sides, and far past it. */
function around(max: bigint, min = 0n): fc.Arbitrary<bigint> {
  const clamp = (v: bigint) => (v < min ? min : v > max ? max : v);
  return fc.oneof(
    fc.bigInt({ min, max: clamp(10_000n) }),
    fc.bigInt({ min: clamp(SAFE - 1_000n), max: clamp(SAFE + 1_000n) }),
    fc.bigInt({ min, max }),
  );
}

const header = fc.record({ key: fc.constantFrom('trace', 'source', 'ü'), value: fc.uint8Array({ maxLength: 8 }) });
const record = fc.record({
  offsetDelta: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  timestampDelta: fc.oneof(fc.bigInt({ min: -1_000_000n, max: 1_000_000n }), fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n })),
  key: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
  headers: fc.array(header, { maxLength: 3 }),
});

/** Headers as the library's record encoder takes them: a repeated key becomes an array. */
function headerObject(headers: { key: string; value: Uint8Array }[]): Record<string, Buffer | Buffer[]> {
  const out: Record<string, Buffer | Buffer[]> = {};
  for (const { key, value } of headers) {
    const buffer = Buffer.from(value);
    const seen = out[key];
    out[key] = seen === undefined ? buffer : Array.isArray(seen) ? [...seen, buffer] : [seen, buffer];
  }
  return out;
}

describe('record batch decoding', () => {
  it('gives each record its batch`s first offset and timestamp plus its deltas, exactly, as 64-bit integers', async () => {
    await fc.assert(
      fc.asyncProperty(
        around(INT64_MAX - 2n ** 31n),
        around(2n ** 61n, -1n),
        fc.array(record, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(Compression.None, Compression.GZIP),
        fc.bigInt({ min: -2n, max: 2n ** 31n }),
        async (firstOffset, firstTimestamp, records, compression, fetchedDelta) => {
          const encoded = await RecordBatch({
            compression,
            firstOffset: Long.fromValue(firstOffset),
            firstTimestamp: Long.fromValue(firstTimestamp),
            maxTimestamp: Long.fromValue(firstTimestamp),
            lastOffsetDelta: records.length - 1,
            records: records.map((r) =>
              Record({
                offsetDelta: r.offsetDelta,
                timestampDelta: Long.fromValue(r.timestampDelta),
                key: r.key ? Buffer.from(r.key) : null,
                value: r.value ? Buffer.from(r.value) : null,
                headers: headerObject(r.headers),
              }),
            ),
          });
          const decoder = new Decoder(encoded.buffer);
          const { records: decoded } = await decodeRecordBatch(decoder);
          expect(decoded).toHaveLength(records.length);
          records.forEach((r, i) => {
            const d = decoded[i]!;
            const offset = firstOffset + BigInt(r.offsetDelta);
            const timestamp = firstTimestamp + r.timestampDelta;
            // The numbers are there exactly when the values fit one (both ends below 2^53), and
            // are the values; the texts are made from them only when read.
            expect(d.offsetNumber).toBe(firstOffset <= SAFE && offset <= SAFE ? Number(offset) : Number.NaN);
            if (!Number.isNaN(d.timestampNumber)) expect(BigInt(d.timestampNumber)).toBe(timestamp);
            expect(d.offset).toBe(String(offset));
            expect(d.timestamp).toBe(String(timestamp));
            expect(d.key === null ? null : Buffer.from(d.key)).toEqual(r.key ? Buffer.from(r.key) : null);
            expect(d.value === null ? null : Buffer.from(d.value)).toEqual(r.value ? Buffer.from(r.value) : null);
            expect(d.headers).toEqual(headerObject(r.headers));
          });
          // The whole batch was read, nothing more.
          expect(decoder.offset).toBe(encoded.buffer.length);
          // A fetch's batch keeps the decoded records at or after the fetched offset, compared
          // as numbers where the records carry them, as texts or BigInts where not.
          const fetched = firstOffset + fetchedDelta < 0n ? 0n : firstOffset + fetchedDelta;
          const fresh = (await decodeRecordBatch(new Decoder(encoded.buffer))).records;
          const batch = new Batch('t', String(fetched), { partition: 0, highWatermark: String(INT64_MAX), messages: fresh });
          const kept = records.map((r) => firstOffset + BigInt(r.offsetDelta)).filter((o) => o >= fetched);
          expect(batch.messages.map((m) => m.offset)).toEqual(kept.map(String));
          expect(JSON.parse(JSON.stringify(fresh[0]))).toMatchObject({ offset: String(firstOffset + BigInt(records[0]!.offsetDelta)) });
        },
      ),
      { numRuns: 400 },
    );
  });
  it('reads a record whose fields run past its stated length from its own slice, as the library did', async () => {
    const encoded = await RecordBatch({
      firstOffset: Long.fromValue(7n),
      firstTimestamp: Long.fromValue(1_700_000_000_000n),
      maxTimestamp: Long.fromValue(1_700_000_000_000n),
      lastOffsetDelta: 0,
      records: [Record({ offsetDelta: 0, timestampDelta: Long.fromValue(0n), key: null, value: Buffer.from('abc'), headers: {} })],
    });
    // The batch header is 61 bytes from the first offset; the record's length is the one-byte
    // zigzag varint after it. Stating two bytes less cuts off the header count and the value's last byte.
    const bytes = Buffer.from(encoded.buffer);
    const lengthAt = 61;
    const stated = bytes[lengthAt]! / 2;
    bytes[lengthAt] = (stated - 2) * 2;
    const recordBytes = bytes.subarray(lengthAt + 1, lengthAt + stated - 1);
    const RecordDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (
      decoder: KafkajsDecoder,
      context: Record<string, unknown>,
    ) => DecodedRecord;
    const reference = RecordDecoder(new Decoder(recordBytes), { firstOffset: '7', firstTimestamp: '1700000000000' });
    const { records } = await decodeRecordBatch(new Decoder(bytes));
    expect(records).toHaveLength(1);
    expect(records[0]!.offset).toBe('7');
    expect(Buffer.from(reference.value!).toString()).toBe('ab');
    expect(Buffer.from(records[0]!.value!).toString()).toBe('ab');
    expect(records[0]!.headers).toEqual(reference.headers);
  });
});

describe('a fetched batch keeps the records at or after the fetched offset', () => {
  it('the same records as comparing the offsets as integers, across digit counts', () => {
    fc.assert(
      fc.property(around(INT64_MAX), fc.array(around(INT64_MAX), { maxLength: 12 }), (fetched, offsets) => {
        // Offsets near the fetched one (one more digit or one fewer) are where text order can go wrong.
        const near = [fetched - 1n, fetched, fetched + 1n, fetched * 10n, fetched / 10n].filter((o) => o >= 0n && o <= INT64_MAX);
        const all = [...near, ...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const batch = new Batch('t', String(fetched), {
          partition: 0,
          highWatermark: String(INT64_MAX),
          messages: all.map((o) => ({ offset: String(o), key: null, isControlRecord: false })),
        });
        expect(batch.messages.map((m) => m.offset)).toEqual(all.filter((o) => o >= fetched).map(String));
      }),
      { numRuns: 1_000 },
    );
  });
});

it('the installed kafkajs reads record deltas as numbers (the patch is applied)', () => {
  // Its only observable effect is less work per record, which a shared machine cannot time
  // reliably; so this looks for the number path in the installed decoders themselves.
  expect(readFileSync(require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder'), 'utf8')).toContain('readSmallVarLong');
  expect(readFileSync(require.resolve('kafkajs/src/consumer/batch'), 'utf8')).toContain('fetchedPlain');
  expect(readFileSync(require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder'), 'utf8')).toContain('Read in place');
  expect(readFileSync(require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder'), 'utf8')).toContain('class FetchedRecord');
});
