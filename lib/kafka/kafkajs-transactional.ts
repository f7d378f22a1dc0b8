/**
 * Kafka transactions on kafkajs: a producer whose sends to several topics and partitions become
 * visible together or not at all (to read_committed readers), and a reader of a single-partition
 * topic's last committed record. Together they keep a position in Kafka atomically with the
 * records it covers, the way Kafka Connect's exactly-once sources keep their offsets.
 */
import { randomUUID } from 'node:crypto';

import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';

import type { Logger } from '../logger.ts';
import { kafkajsLogCreator } from './kafkajs-log.ts';

export interface TransactionalMessage {
  topic: string;
  key: string;
  value: string;
}

/** A Kafka transaction left open across several sends (e.g. a whole snapshot's rows). */
export interface OpenTransaction {
  send(messages: readonly TransactionalMessage[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TransactionalProducer {
  /** Sends every message in one Kafka transaction and commits it; aborts it on any failure. */
  sendAtomically(messages: readonly TransactionalMessage[]): Promise<void>;
  /** Opens a transaction the caller fills and ends; nothing of it is visible before commit(). */
  begin(): Promise<OpenTransaction>;
  /** The value of `topic`'s last committed record in partition 0 (null when it has none). */
  lastCommittedValue(topic: string, timeoutMs?: number): Promise<string | null>;
  /** Creates the topic if it is missing; false when it existed. */
  ensureTopic(topic: string, partitions: number, compacted: boolean): Promise<boolean>;
  disconnect(): Promise<void>;
}

export interface TransactionalProducerOptions {
  brokers: string[];
  clientId: string;
  /**
   * Stable across restarts of the same writer: a new producer with the same id fences the old
   * one (its later sends fail) and aborts the transaction it left open.
   */
  transactionalId: string;
  /**
   * How long a transaction may stay open before the broker aborts it (kafkajs: 60 s). At most
   * the broker's transaction.max.timeout.ms (15 min by default).
   */
  transactionTimeoutMs?: number;
}

/** How far back the last committed record is first looked for (a transaction takes 2+ offsets). */
const TAIL_WINDOW = 200;

export async function createTransactionalProducer(options: TransactionalProducerOptions, logger: Logger): Promise<TransactionalProducer> {
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 5 },
  });
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionalId: options.transactionalId,
    ...(options.transactionTimeoutMs !== undefined ? { transactionTimeout: options.transactionTimeoutMs } : {}),
  });
  // Connecting registers the transactional id: the broker aborts what a previous holder left open.
  await producer.connect();

  async function readTail(topic: string, from: number, high: number, timeoutMs: number): Promise<string | null> {
    const consumer = kafka.consumer({ groupId: `shopflow-tail-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false });
    let last: string | null = null;
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const reachedEnd = new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`reading the end of ${topic} took over ${timeoutMs} ms`)), timeoutMs);
        // Emitted after every fetched batch, also one holding only control records (commit markers)
        // or aborted records, which never reach eachMessage.
        consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
          if (event.payload.partition === 0 && BigInt(event.payload.lastOffset) >= BigInt(high) - 1n) resolve();
        });
      });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (partition === 0) last = message.value === null ? null : message.value.toString('utf8');
        },
      });
      consumer.seek({ topic, partition: 0, offset: String(from) });
      await reachedEnd;
      return last;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
    }
  }

  const topicMessages = (messages: readonly TransactionalMessage[]) => {
    const byTopic = new Map<string, { key: string; value: string }[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic) ?? [];
      list.push({ key: m.key, value: m.value });
      byTopic.set(m.topic, list);
    }
    return [...byTopic].map(([topic, list]) => ({ topic, messages: list }));
  };

  return {
    async begin() {
      const transaction = await producer.transaction();
      return {
        async send(messages) {
          if (messages.length > 0) await transaction.sendBatch({ acks: -1, topicMessages: topicMessages(messages) });
        },
        commit: () => transaction.commit(),
        abort: () => transaction.abort(),
      };
    },
    async sendAtomically(messages) {
      const transaction = await producer.transaction();
      try {
        await transaction.sendBatch({ acks: -1, topicMessages: topicMessages(messages) });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    },
    async lastCommittedValue(topic, timeoutMs = 30_000) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        const p0 = offsets.find((o) => o.partition === 0);
        if (!p0) throw new Error(`topic ${topic} has no partition 0`);
        const low = Number(p0.low);
        const high = Number(p0.high);
        if (high <= low) return null;
        const from = Math.max(low, high - TAIL_WINDOW);
        const value = await readTail(topic, from, high, timeoutMs);
        // Only aborted transactions in the window: look at the whole partition.
        return value !== null || from === low ? value : await readTail(topic, low, high, timeoutMs);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    async ensureTopic(topic, partitions, compacted) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return await admin.createTopics({
          waitForLeaders: true,
          topics: [
            {
              topic,
              numPartitions: partitions,
              // The broker's default.replication.factor: 1 locally, what the cluster is set to elsewhere.
              ...(compacted ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
            },
          ],
        });
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    async disconnect() {
      await producer.disconnect();
    },
  };
}
