/**
 * ensureTopic against the real broker: a topic it returns is usable at once, even when many are
 * created together (a busy broker may not host a new topic's partitions yet right after the
 * create request); a topic with fewer partitions than configured is refused without waiting.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';

import { deleteTopic, ensureTopic } from '../../../lib/kafka/admin.ts';
import { uniqueSuffix } from '../../helpers/config.ts';
import { testEndpoints } from '../../helpers/services.ts';

const brokers = testEndpoints().kafkaBrokers;
const created: string[] = [];

function topicName(label: string): string {
  const name = `test.admin-${label}-${uniqueSuffix()}`;
  created.push(name);
  return name;
}

afterAll(async () => {
  await Promise.all(created.map((topic) => deleteTopic(brokers, topic).catch(() => undefined)));
});

describe('ensureTopic', () => {
  it('returns only when every partition of each of 8 topics created together has a leader that takes writes', async () => {
    const topics = Array.from({ length: 8 }, (_, i) => topicName(`burst${i}`));
    const results = await Promise.all(topics.map((topic) => ensureTopic(brokers, topic, 12)));
    expect(results.map((r) => r.partitions)).toEqual(topics.map(() => 12));
    expect(results.every((r) => r.created)).toBe(true);

    // A producer that does not retry: any partition without a leader yet would fail the send.
    const kafka = new Kafka({ clientId: 'admin-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (const topic of topics) {
        const sent = await producer.send({
          topic,
          messages: Array.from({ length: 12 }, (_, partition) => ({ partition, value: `p${partition}` })),
        });
        expect(sent.map((r) => r.errorCode)).toEqual(sent.map(() => 0));
      }
    } finally {
      await producer.disconnect();
    }
  });

  it('says the topic already exists and refuses a partition count above what it has, without waiting', async () => {
    const topic = topicName('fewer');
    expect(await ensureTopic(brokers, topic, 2)).toEqual({ created: true, partitions: 2 });
    expect(await ensureTopic(brokers, topic, 2)).toEqual({ created: false, partitions: 2 });
    const started = Date.now();
    await expect(ensureTopic(brokers, topic, 6)).rejects.toMatchObject({
      code: 'SHOPFLOW_KAFKA_PARTITIONS',
      message: expect.stringContaining(`has 2 partitions but 6 are configured`),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
