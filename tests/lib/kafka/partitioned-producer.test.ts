/**
 * Pre-encoded record batches against the real broker (which checks each batch's CRC and record
 * framing): every message lands in the partition it was sent to, intact, and each partition's
 * messages are in the order they were handed over, with several requests per partition queued
 * at once.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPartitionedProducer } from '../../../lib/kafka/partitioned-producer.ts';
import { RecordsBuilder } from '../../../lib/kafka/record-batch.ts';
import { createLogger } from '../../../lib/logger.ts';
import { createTestTopic, type TestTopic } from '../../helpers/kafka.ts';

const PARTITIONS = 3;
const REQUESTS = 6;
const PER_REQUEST = 250;
let t: TestTopic;

beforeAll(async () => {
  t = await createTestTopic('partitioned-producer', PARTITIONS);
});
afterAll(async () => {
  await t?.delete();
});

async function readAll(expected: number): Promise<Map<number, { key: string; value: string }[]>> {
  const kafka = new Kafka({ clientId: 'partitioned-producer-test', brokers: t.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: t.groupId, maxWaitTimeInMs: 200 });
  const byPartition = new Map<number, { key: string; value: string }[]>();
  let count = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: t.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${count} of ${expected} messages`)), 60_000);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          const list = byPartition.get(batch.partition) ?? [];
          for (const m of batch.messages) list.push({ key: m.key!.toString(), value: m.value!.toString() });
          byPartition.set(batch.partition, list);
          count += batch.messages.length;
          if (count >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return byPartition;
}

describe('partitioned producer', () => {
  it('delivers every message to its partition, intact and in hand-over order', async () => {
    const producer = await createPartitionedProducer(
      { brokers: t.brokers, clientId: 'partitioned-producer-test' },
      createLogger('partitioned-producer-test', 'warn'),
    );
    const sends: Promise<void>[] = [];
    try {
      for (let r = 0; r < REQUESTS; r++) {
        for (let p = 0; p < PARTITIONS; p++) {
          const records = new RecordsBuilder(64);
          for (let i = 0; i < PER_REQUEST; i++)
            records.append(`key-ü-${p}`, JSON.stringify({ p, seq: r * PER_REQUEST + i, text: 'ünïcødé 🔑' }));
          sends.push(producer.send(t.topic, p, records.take()));
        }
      }
      await Promise.all(sends);
    } finally {
      await producer.close();
    }

    const byPartition = await readAll(PARTITIONS * REQUESTS * PER_REQUEST);
    for (let p = 0; p < PARTITIONS; p++) {
      const got = byPartition.get(p) ?? [];
      expect(got).toHaveLength(REQUESTS * PER_REQUEST);
      const parsed = got.map((m) => ({ key: m.key, ...(JSON.parse(m.value) as { p: number; seq: number; text: string }) }));
      expect(parsed.every((m) => m.p === p && m.key === `key-ü-${p}` && m.text === 'ünïcødé 🔑')).toBe(true);
      expect(parsed.map((m) => m.seq)).toEqual(Array.from({ length: REQUESTS * PER_REQUEST }, (_, i) => i));
    }
  });
});
