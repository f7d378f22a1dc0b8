/**
 * The Kafka sink: a batch's messages in event-time order, keyed by session_id. Partitions are
 * chosen here with the client's default key hash (the one any keyed producer would use), and each
 * partition's messages are encoded as records when queued (lib/kafka/record-batch.ts) and go out
 * in order, in requests of a few thousand (lib/kafka/partitioned-producer.ts).
 *
 * Message timestamps are the send time, not the simulated event time: a backfill's events are
 * months old, and time-based retention would delete them before anyone read them.
 */
import { ensureTopic } from '../../lib/kafka/admin.ts';
import { keyBytesPartitioner } from '../../lib/kafka/partition.ts';
import { createPartitionedProducer, type PartitionedProducer } from '../../lib/kafka/partitioned-producer.ts';
import { RecordsBuilder } from '../../lib/kafka/record-batch.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Batch } from '../world/batch.ts';
import type { Sink } from './types.ts';

/**
 * Per partition request: under the broker's default message.max.bytes (1 MB), and small enough
 * that the requests in flight (and the copies kafkajs makes of each) stay a few MB; 512 KB and
 * 900 KB sent at the same rate, the smaller with ~11 MB less peak RSS.
 */
const MAX_REQUEST_BYTES = 512 * 1024;
/** A builder's buffer: a full request plus its last message, so it does not have to grow. */
const BUILDER_BYTES = MAX_REQUEST_BYTES + 128 * 1024;

export interface KafkaSinkOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  partitions: number;
  /** Messages per produce request. */
  chunk?: number;
}

export class KafkaSink implements Sink {
  readonly name = 'kafka';
  readonly #producer: PartitionedProducer;
  readonly #topic: string;
  readonly #chunk: number;
  readonly #maxRequestsInFlight: number;
  readonly #partitionOf: (key: Uint8Array) => number;
  /** Per partition, messages not yet handed to the producer, in order. */
  readonly #queued: RecordsBuilder[];
  /**
   * Builders whose request is done, for reuse: a request goes out from its builder's buffer (no
   * copy), and the builder comes back here once the broker has answered. A fresh copy per
   * request was ~1 GB of buffers for the default world, left to the garbage collector.
   */
  readonly #spare: RecordsBuilder[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #failure: unknown = undefined;
  readonly countsByType = new Map<string, number>();
  messages = 0;
  bytes = 0;

  private constructor(producer: PartitionedProducer, options: KafkaSinkOptions) {
    this.#producer = producer;
    this.#topic = options.topic;
    this.#chunk = options.chunk ?? 2_000;
    // One on the wire per partition (their sends are chained) and a couple waiting their turn.
    this.#maxRequestsInFlight = options.partitions + 2;
    this.#partitionOf = keyBytesPartitioner(options.partitions);
    this.#queued = Array.from({ length: options.partitions }, () => new RecordsBuilder(BUILDER_BYTES));
  }

  static async open(options: KafkaSinkOptions, logger: Logger): Promise<KafkaSink> {
    await ensureTopic(options.brokers, options.topic, options.partitions);
    const producer = await createPartitionedProducer({ brokers: options.brokers, clientId: `${options.clientId}-generator` }, logger);
    return new KafkaSink(producer, options);
  }

  /**
   * Queues the batch's messages and sends every partition's full requests. A partial request
   * waits for the next batch (requests of a few thousand messages cost the client far less per
   * message than a day's few hundred); flush() sends the rest. Waits while too many requests
   * are in flight, so memory stays bounded however fast batches come.
   */
  async write(batch: Batch): Promise<void> {
    this.#throwIfFailed();
    const log = batch.messages;
    for (const i of log.ordered()) {
      const { data, start, keyBytes, valueBytes } = log.bytes(i);
      const partition = this.#partitionOf(data.subarray(start, start + keyBytes));
      const queue = this.#queued[partition]!;
      queue.appendBytes(data, start, keyBytes, valueBytes);
      if (queue.count >= this.#chunk || queue.bytes >= MAX_REQUEST_BYTES) this.#send(partition);
      const type = log.type(i);
      this.countsByType.set(type, (this.countsByType.get(type) ?? 0) + 1);
      this.bytes += valueBytes;
      this.messages++;
    }
    while (this.#inFlight.size > this.#maxRequestsInFlight) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
  }

  async flush(): Promise<void> {
    for (let partition = 0; partition < this.#queued.length; partition++) {
      if (this.#queued[partition]!.count > 0) this.#send(partition);
    }
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
  }

  async close(): Promise<void> {
    await this.#producer.close();
  }

  #send(partition: number): void {
    const builder = this.#queued[partition]!;
    this.#queued[partition] = this.#spare.pop() ?? new RecordsBuilder(BUILDER_BYTES);
    const sent = this.#producer
      .send(this.#topic, partition, builder.records())
      .catch((error: unknown) => {
        this.#failure ??= error;
      })
      .finally(() => {
        this.#inFlight.delete(sent);
        builder.clear();
        this.#spare.push(builder);
      });
    this.#inFlight.add(sent);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}
