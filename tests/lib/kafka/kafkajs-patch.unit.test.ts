/**
 * What patches/kafkajs+2.2.4.patch adds to the client, pinned so that upgrading kafkajs without
 * carrying the patch over fails here instead of in production: without it a produce request
 * with pre-encoded records silently sends one empty record instead of the batch, and large
 * produce requests take twice the memory and CRC time. (produce-request.unit.test.ts pins the
 * single-buffer produce request the patch adds as well.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../../lib/config/index.ts';
import { RecordsBuilder } from '../../../lib/kafka/record-batch.ts';

const require = createRequire(import.meta.url);

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  writeInt32(value: number): KafkajsEncoder;
  writeBuffer(value: Buffer): KafkajsEncoder;
}
const Encoder = require('kafkajs/src/protocol/encoder') as new (initialSize?: number) => KafkajsEncoder;
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (buffer: Buffer) => number;
type ProduceRequest = (options: Record<string, unknown>) => { encode(): Promise<{ buffer: Buffer }> };
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as ProduceRequest;
const Long = require('kafkajs/src/utils/long') as { fromInt(n: number): unknown };

it('the installed kafkajs is the version the patch was made for', () => {
  const patches = readdirSync(join(ROOT_DIR, 'patches')).filter((name) => name.startsWith('kafkajs+'));
  const installed = (require('kafkajs/package.json') as { version: string }).version;
  expect(patches, 'kafkajs was upgraded: port patches/kafkajs+*.patch to it (npx patch-package kafkajs) or drop what it replaces').toEqual([
    `kafkajs+${installed}.patch`,
  ]);
});

describe('encoder growth', () => {
  it('gives a large write an exact fit instead of the next power of two', () => {
    const encoder = new Encoder().writeInt32(7);
    const records = Buffer.alloc(520 * 1024, 1);
    encoder.writeBuffer(records);
    // Unpatched, 4 + 532,480 bytes round up to a 1 MiB buffer.
    expect(encoder.offset).toBe(4 + records.length);
    expect(encoder.buf.length).toBeLessThanOrEqual(encoder.offset + 1024);
    expect(encoder.buf.subarray(4, encoder.offset).equals(records)).toBe(true);
  });

  it('still doubles for small writes, keeping what was written', () => {
    const encoder = new Encoder(16);
    for (let i = 0; i < 100; i++) encoder.writeInt32(i);
    expect(encoder.buf.length).toBe(512);
    expect(Array.from({ length: 100 }, (_, i) => encoder.buf.readInt32BE(i * 4))).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('CRC32C', () => {
  /** The byte-at-a-time definition (Castagnoli polynomial, reflected), for comparison. */
  function referenceCrc32c(buffer: Buffer): number {
    let crc = 0xffffffff;
    for (const byte of buffer) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  }

  it('computes the standard check value and agrees with the definition at every length around the 8-byte steps', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    const bytes = Buffer.from(Array.from({ length: 4096 + 13 }, (_, i) => (i * 131 + (i >> 5)) & 0xff));
    for (let length = 0; length <= 70; length++)
      expect(crc32C(bytes.subarray(0, length)), `length ${length}`).toBe(referenceCrc32c(bytes.subarray(0, length)));
    for (let start = 0; start < 8; start++)
      expect(crc32C(bytes.subarray(start)), `from ${start}`).toBe(referenceCrc32c(bytes.subarray(start)));
  });

  it('reads eight bytes per step (slice-by-8)', () => {
    // Its only observable effect is speed, which a test on a shared machine cannot time
    // reliably; so this looks for the eight-table loop in the installed function itself.
    expect(crc32C.toString()).toMatch(/T8\[1792 \+/);
    expect(readFileSync(require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C'), 'utf8')).toContain(
      'const T8 = new Int32Array(8 * 256)',
    );
  });
});

describe('pre-encoded record batches', () => {
  const TIMESTAMP = 1_700_000_000_000;

  async function produceBytes(partitions: { partition: number; messages: Record<string, unknown>[] }[]): Promise<Buffer> {
    const request = produceV3({
      acks: -1,
      timeout: 30_000,
      transactionalId: null,
      producerId: Long.fromInt(-1),
      producerEpoch: 0,
      compression: 0,
      topicData: [{ topic: 'shop.events', partitions: partitions.map((p) => ({ ...p, firstSequence: 0 })) }],
    });
    const encoded = (await request.encode()) as unknown as KafkajsEncoder & { headRoom?: number };
    return encoded.buf.subarray(encoded.headRoom ?? 0, encoded.offset);
  }

  it('a request for several partitions carries each one`s encoded records as its record batch', async () => {
    const byPartition = [0, 5].map((partition) => ({
      partition,
      messages: Array.from({ length: 40 + partition }, (_, i) => ({
        key: `s-${partition}-${i % 3}`,
        value: JSON.stringify({ partition, i, pad: 'é'.repeat(i) }),
      })),
    }));
    const preEncoded = await produceBytes(
      byPartition.map(({ partition, messages }) => {
        const builder = new RecordsBuilder(64);
        for (const m of messages) builder.append(m.key, m.value);
        return { partition, messages: [{ value: null, encodedRecords: builder.take(), timestamp: TIMESTAMP }] };
      }),
    );
    const library = await produceBytes(
      byPartition.map(({ partition, messages }) => ({
        partition,
        messages: messages.map((m) => ({ key: Buffer.from(m.key), value: Buffer.from(m.value), timestamp: TIMESTAMP })),
      })),
    );
    expect(preEncoded.length).toBe(library.length);
    expect(preEncoded.equals(library)).toBe(true);
  });
});
