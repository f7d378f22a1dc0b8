/**
 * RecordSource on kafkajs. Auto-commit and auto-resolve are off: the owner decides what is
 * held, and the group offsets in Kafka are written only as an advisory copy of what the
 * warehouse has committed.
 */
import { Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload, type KafkaMessage } from 'kafkajs';

import { ServiceUnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { registerKafkaCodecs } from './kafkajs-codecs.ts';
import { kafkajsLogCreator } from './kafkajs-log.ts';
import type {
  NonDataRun,
  PartitionWatermarks,
  RecordSource,
  RecordSourceOptions,
  SourceHandlers,
  SourceMessage,
  TopicPartitionOffset,
} from './source.ts';

/**
 * What patches/kafkajs+2.2.4.patch adds to a fetched record: its offset and timestamp as numbers
 * when exact (NaN otherwise), so the decimal texts kafkajs hands out are made only if read.
 */
interface ExactNumbers {
  offsetNumber?: number;
  timestampNumber?: number;
}

export function createKafkajsSource(options: RecordSourceOptions, logger: Logger): RecordSource {
  // Without these, one snappy, lz4 or zstd batch stops its partition for good.
  registerKafkaCodecs();
  return new KafkajsSource(options, logger);
}

class KafkajsSource implements RecordSource {
  readonly #options: RecordSourceOptions;
  readonly #logger: Logger;
  readonly #kafka: Kafka;
  #consumer: Consumer | undefined;
  #admin: Admin | undefined;
  #adminConnecting: Promise<Admin> | undefined;
  #stopped = false;
  /** Per topic and partition, the last run of records without data read (see NonDataRun). */
  readonly #nonData = new Map<string, NonDataRun>();
  /** Consumers started again in a row after kafkajs gave up (reset when a group is joined). */
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(options: RecordSourceOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
    this.#kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.INFO,
      logCreator: kafkajsLogCreator(logger),
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      // Capped backoff for broker restarts; when retries run out the consumer restarts itself.
      retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
    });
  }

  async start(handlers: SourceHandlers): Promise<void> {
    await this.#startConsumer(handlers);
  }

  /** A new consumer joins the group; the first start's failure is the caller's, later ones retry. */
  async #startConsumer(handlers: SourceHandlers): Promise<void> {
    const o = this.#options;
    const consumer = this.#kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(o.sessionTimeoutMs / 10)),
      rebalanceTimeout: Math.max(o.sessionTimeoutMs * 2, 10_000),
      maxBytes: o.maxBytes ?? 4 * 1024 * 1024,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1024 * 1024,
      maxWaitTimeInMs: o.maxWaitMs ?? 250,
      allowAutoTopicCreation: false,
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 10_000,
        retries: 8,
        // Transient failures (broker restart, coordinator moves) restart the consumer, which
        // rejoins the group; the owner then re-seeks from its own committed positions.
        restartOnFailure: async (error) => {
          this.#logger.warn({ err: error }, 'kafka consumer failed, restarting');
          return !this.#stopped;
        },
      },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.#restarts = 0;
      const assignment = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions }));
      handlers.onAssigned(assignment);
    });
    // A fetch whose records are all markers or aborted records is never handed to eachBatch.
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, batchSize, firstOffset, lastOffset } = event.payload;
      if (batchSize === 0 && firstOffset !== null) this.#noteNonData(topic, partition, BigInt(firstOffset), BigInt(lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart || this.#stopped) return;
      const error = asError(event.payload.error);
      // kafkajs restarts itself only after retriable errors; once its retries run out while the
      // broker is still coming back (no group coordinator yet, connections refused) it gives up
      // for good. Those are still the infrastructure's, so a new consumer tries again.
      if (isKafkaInfrastructureError(error)) this.#restartLater(consumer, handlers, error);
      else handlers.onFatal(error);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw new ServiceUnavailableError(
        `cannot subscribe to Kafka topic "${o.topic}" at ${o.brokers.join(',')}: ${asError(error).message}. ` +
          'Is Kafka running (npm run services:up) and does the topic exist?',
        error,
      );
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 3,
      eachBatch: async (payload) => this.#deliver(payload, handlers),
    });
  }

  /** Starts a new consumer after a capped, growing pause; retries while the broker is unreachable. */
  #restartLater(crashed: Consumer, handlers: SourceHandlers, cause: Error): void {
    const delayMs = Math.min(30_000, 1_000 * 2 ** Math.min(this.#restarts, 5));
    this.#restarts++;
    this.#logger.warn(
      { err: cause, attempt: this.#restarts, delayMs },
      'kafka consumer gave up on an unreachable broker or coordinator; starting a new one',
    );
    this.#restartTimer = setTimeout(() => {
      if (this.#stopped || this.#consumer !== crashed) return;
      void crashed
        .disconnect()
        .catch(() => undefined)
        .then(() => (this.#stopped ? undefined : this.#startConsumer(handlers)))
        .catch((error: unknown) => {
          if (this.#stopped) return;
          const failed = asError(error);
          if (failed instanceof ServiceUnavailableError && this.#consumer) this.#restartLater(this.#consumer, handlers, failed);
          else handlers.onFatal(failed);
        });
    }, delayMs);
  }

  async #deliver(payload: EachBatchPayload, handlers: SourceHandlers): Promise<void> {
    const { batch } = payload;
    if (this.#stopped || payload.isStale()) return;
    const messages: SourceMessage[] = new Array<SourceMessage>(batch.messages.length);
    for (let i = 0; i < batch.messages.length; i++) {
      const m = batch.messages[i] as KafkaMessage & ExactNumbers;
      // The patched record decoder's exact numbers, when it has them: its texts are then never made.
      const offset = m.offsetNumber;
      const timestamp = m.timestampNumber;
      messages[i] = {
        offset: Number.isSafeInteger(offset) ? BigInt(offset!) : BigInt(m.offset),
        key: m.key ?? null,
        value: m.value ?? null,
        timestampMs: Number.isSafeInteger(timestamp) ? timestamp! : Number(m.timestamp),
      };
    }
    // Records after the last delivered one (a transaction's marker) hold no data either.
    const last = messages.at(-1);
    if (last) this.#noteNonData(batch.topic, batch.partition, last.offset + 1n, BigInt(batch.lastOffset()) + 1n);
    await handlers.onBatch(
      {
        topic: batch.topic,
        partition: batch.partition,
        fetchedOffset: BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset),
        highWatermark: BigInt(batch.highWatermark),
        messages,
      },
      {
        markHeld: (offset) => payload.resolveOffset(offset.toString()),
        heartbeat: () => payload.heartbeat(),
      },
    );
  }

  #noteNonData(topic: string, partition: number, from: bigint, next: bigint): void {
    if (next > from) this.#nonData.set(`${topic}\u0000${partition}`, { from, next });
  }

  nonDataRun(topic: string, partition: number): NonDataRun | undefined {
    return this.#nonData.get(`${topic}\u0000${partition}`);
  }

  seek(position: TopicPartitionOffset): void {
    this.#consumer?.seek({ topic: position.topic, partition: position.partition, offset: position.offset.toString() });
  }

  async commitAdvisory(positions: TopicPartitionOffset[]): Promise<void> {
    if (!this.#consumer || positions.length === 0 || this.#stopped) return;
    await this.#consumer.commitOffsets(positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset.toString() })));
  }

  async watermarks(topic: string): Promise<PartitionWatermarks[]> {
    const admin = await this.#getAdmin();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
  }

  #getAdmin(): Promise<Admin> {
    if (this.#admin) return Promise.resolve(this.#admin);
    this.#adminConnecting ??= (async () => {
      const admin = this.#kafka.admin({ retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 } });
      await admin.connect();
      this.#admin = admin;
      return admin;
    })().finally(() => {
      this.#adminConnecting = undefined;
    });
    return this.#adminConnecting;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    const results = await Promise.allSettled([this.#consumer?.disconnect(), this.#admin?.disconnect()]);
    for (const r of results) if (r.status === 'rejected') this.#logger.warn({ err: r.reason }, 'kafka disconnect failed');
  }
}

/** kafkajs error names that mean the cluster is unreachable or still loading, never bad data. */
const INFRASTRUCTURE_ERRORS = new Set([
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
]);

/** True when the error or any error it wraps is one of INFRASTRUCTURE_ERRORS. */
export function isKafkaInfrastructureError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (INFRASTRUCTURE_ERRORS.has(e.name)) return true;
  }
  return false;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
