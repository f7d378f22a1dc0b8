/**
 * Topic administration. The local broker does not auto-create topics, so every producer and
 * consumer path creates what it uses, with the configured partition count, through here.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { Kafka, logLevel, type Admin } from 'kafkajs';

import { ServiceUnavailableError, ShopflowError } from '../errors.ts';

export interface AdminOptions {
  clientId?: string;
  /** Per-attempt connection timeout; readiness probes keep it short. */
  connectionTimeoutMs?: number;
  retries?: number;
}

/** Connect an admin client, run `work`, always disconnect. */
export async function withKafkaAdmin<T>(brokers: string[], work: (admin: Admin) => Promise<T>, options: AdminOptions = {}): Promise<T> {
  const kafka = new Kafka({
    clientId: options.clientId ?? 'shopflow-admin',
    brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    // kafkajs logs every failed attempt at ERROR; callers report failures themselves.
    logLevel: logLevel.NOTHING,
    retry: { retries: options.retries ?? 3, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new ServiceUnavailableError(`Kafka at ${brokers.join(',')} is not reachable; start it with \`npm run services:up\` or set KAFKA_BROKERS`, error);
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
export async function ensureTopic(brokers: string[], topic: string, partitions: number, options: AdminOptions & { replicationFactor?: number; readyTimeoutMs?: number } = {}): Promise<{ created: boolean; partitions: number }> {
  return withKafkaAdmin(
    brokers,
    async (admin) => {
      // kafkajs's own waitForLeaders gives up when a loaded broker answers "does not host this
      // topic-partition" for a topic it has just created; waitForTopic treats that as "not yet".
      const created = await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: options.replicationFactor ?? -1 }],
        waitForLeaders: false,
      });
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

/** Errors a broker gives for a topic whose creation has not reached its metadata yet. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/** The broker's error type, also when the client wrapped it after its own retries. */
function kafkaErrorType(error: unknown): string {
  for (let e = error as { type?: string; cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth += 1) {
    if (typeof e.type === 'string') return e.type;
  }
  return '';
}

/**
 * Wait until `topic` is in the broker's metadata with a leader for each of its partitions, and
 * return its partition count (a topic's partitions enter the metadata together).
 */
export async function waitForTopic(admin: Admin, topic: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 500)) {
    let lastState: string;
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const list = metadata.topics[0]?.partitions ?? [];
      const led = list.filter((p) => p.leader >= 0).length;
      if (list.length > 0 && led === list.length) return list.length;
      lastState = `${led} of ${list.length} partitions have a leader`;
    } catch (error) {
      if (!NOT_YET.has(kafkaErrorType(error))) throw error;
      lastState = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new ServiceUnavailableError(`Kafka topic ${topic} was not ready after ${timeoutMs} ms (${lastState}); is the broker overloaded?`);
    }
    await sleep(delayMs);
  }
}

export async function deleteTopic(brokers: string[], topic: string, options: AdminOptions = {}): Promise<void> {
  await withKafkaAdmin(brokers, (admin) => admin.deleteTopics({ topics: [topic], timeout: 10_000 }), options);
}

export async function listTopics(brokers: string[], options: AdminOptions = {}): Promise<string[]> {
  return withKafkaAdmin(brokers, (admin) => admin.listTopics(), options);
}
