/**
 * The patched client builds a produce request of one partition's pre-encoded records in a single
 * buffer, header written in front last (patches/kafkajs+2.2.4.patch). Its bytes must be exactly
 * those of the client's own path for the same messages as key/value objects.
 */
import { createRequire } from 'node:module';

import { describe, expect, it } from 'vitest';

import { RecordsBuilder } from '../../../lib/kafka/record-batch.ts';

const require = createRequire(import.meta.url);
type ProduceRequest = (options: Record<string, unknown>) => unknown;
type CreateRequest = (options: { correlationId: number; clientId: string; request: unknown }) => Promise<{ buffer: Buffer }>;
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as ProduceRequest;
const createRequest = require('kafkajs/src/protocol/request') as CreateRequest;
const Long = require('kafkajs/src/utils/long') as { fromInt(n: number): unknown };

const TIMESTAMP = 1_700_000_000_000;

function produce(messages: Record<string, unknown>[]): { encode(): Promise<{ headRoom?: number }> } {
  return produceV3({
    acks: -1,
    timeout: 30_000,
    transactionalId: null,
    producerId: Long.fromInt(-1),
    producerEpoch: 0,
    compression: 0,
    topicData: [{ topic: 'shop.events', partitions: [{ partition: 3, firstSequence: 0, messages }] }],
  }) as { encode(): Promise<{ headRoom?: number }> };
}

async function requestBytes(messages: Record<string, unknown>[], clientId: string): Promise<Buffer> {
  return (await createRequest({ correlationId: 42, clientId, request: produce(messages) })).buffer;
}

describe('single-buffer produce request', () => {
  const messages = Array.from({ length: 300 }, (_, i) => ({
    key: `session-${i % 17}-ключ`,
    value: JSON.stringify({ i, pad: 'x'.repeat(i * 7), text: 'ünïcødé' }),
  }));

  it.each(['shopflow-generator', 'x'.repeat(400)])('matches the client library byte for byte (client id of %#)', async (clientId) => {
    const builder = new RecordsBuilder(64);
    for (const m of messages) builder.append(m.key, m.value);
    const preEncoded = await requestBytes([{ value: null, encodedRecords: builder.records(), timestamp: TIMESTAMP }], clientId);
    const library = await requestBytes(
      messages.map((m) => ({ key: Buffer.from(m.key), value: Buffer.from(m.value), timestamp: TIMESTAMP })),
      clientId,
    );
    // The single-buffer path was taken (room left for the header), and the result is whole.
    expect((await produce([{ value: null, encodedRecords: builder.records(), timestamp: TIMESTAMP }]).encode()).headRoom).toBeGreaterThan(
      0,
    );
    expect(preEncoded.readInt32BE(0)).toBe(preEncoded.length - 4);
    expect(preEncoded.equals(library)).toBe(true);
  });
});
