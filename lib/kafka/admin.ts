/**
 * Topic administration. The local broker does not auto-create topics, so every producer and
 * consumer path creates what it uses, with the configured partition count, through here.
 * The client library is kafkajs (kafkajs-admin.ts), seen only through TopicAdmin.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { ServiceUnavailableError, ShopflowError } from '../errors.ts';
import { connectKafkajsAdmin } from './kafkajs-admin.ts';
import type { AdminOptions, TopicAdmin } from './topic-admin.ts';

export type { AdminOptions, TopicAdmin, TopicMetadata } from './topic-admin.ts';

/** Connect an admin client, run `work`, always disconnect. */
export async function withKafkaAdmin<T>(
  brokers: string[],
  work: (admin: TopicAdmin) => Promise<T>,
  options: AdminOptions = {},
): Promise<T> {
  let admin: TopicAdmin;
  try {
    admin = await connectKafkajsAdmin(brokers, options);
  } catch (error) {
    throw new ServiceUnavailableError(
      `Kafka at ${brokers.join(',')} is not reachable; start it with \`npm run services:up\` or set KAFKA_BROKERS`,
      error,
    );
  }
  try {
    return await work(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Make sure `topic` exists with at least `partitions` partitions. Idempotent and safe when
 * several processes race: "already exists" counts as success. A topic with fewer partitions
 * than asked for is an error rather than a silent repartition, because that would move keys
 * (sessions) between partitions and break their ordering.
 */
export async function ensureTopic(
  brokers: string[],
  topic: string,
  partitions: number,
  options: AdminOptions & { replicationFactor?: number; readyTimeoutMs?: number } = {},
): Promise<{ created: boolean; partitions: number }> {
  return withKafkaAdmin(
    brokers,
    async (admin) => {
      const created = await admin.createTopic(topic, partitions, options.replicationFactor ?? -1);
      const actual = await waitForTopic(admin, topic, options.readyTimeoutMs ?? 30_000);
      if (actual < partitions) {
        throw new ShopflowError(
          'SHOPFLOW_KAFKA_PARTITIONS',
          `Kafka topic ${topic} has ${actual} partitions but ${partitions} are configured (KAFKA_PARTITIONS); ` +
            `increase them with kafka-topics --alter or use a new topic name`,
        );
      }
      return { created, partitions: actual };
    },
    options,
  );
}

/**
 * Wait until `topic` is in the broker's metadata with a leader for each of its partitions, and
 * each leader answers for its partition; return its partition count (a topic's partitions enter
 * the metadata together).
 *
 * Why both: the metadata names a leader before that broker has taken the partition on, and a
 * write sent then is refused (NOT_LEADER_OR_FOLLOWER: seen with 8 topics of 12 partitions
 * created at once). Asking every leader for its offsets needs the same leadership a write does.
 */
export async function waitForTopic(admin: TopicAdmin, topic: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 500)) {
    const { partitions, pending } = await admin.topicMetadata(topic);
    const led = partitions.filter((p) => p.hasLeader).length;
    let lastState = pending ?? `${led} of ${partitions.length} partitions have a leader`;
    if (partitions.length > 0 && led === partitions.length) {
      const answered = await admin.watermarks(topic).then(
        (marks) => marks.length === partitions.length,
        (error: unknown) => {
          lastState = `every partition has a leader, not every leader answers yet (${error instanceof Error ? error.message : String(error)})`;
          return false;
        },
      );
      if (answered) return partitions.length;
    }
    if (Date.now() >= deadline) {
      throw new ServiceUnavailableError(
        `Kafka topic ${topic} was not ready after ${timeoutMs} ms (${lastState}); is the broker overloaded?`,
      );
    }
    await sleep(delayMs);
  }
}

export async function deleteTopic(brokers: string[], topic: string, options: AdminOptions = {}): Promise<void> {
  await withKafkaAdmin(brokers, (admin) => admin.deleteTopics([topic], 10_000), options);
}

export async function listTopics(brokers: string[], options: AdminOptions = {}): Promise<string[]> {
  return withKafkaAdmin(brokers, (admin) => admin.listTopics(), options);
}
