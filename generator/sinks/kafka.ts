/**
 * The Kafka sink: a batch's messages in event-time order, keyed by session_id, sent thousands per
 * producer call with a few calls in flight. The client library stays behind lib/kafka/producer.ts.
 *
 * Message timestamps are the send time, not the simulated event time: a backfill's events are
 * months old, and time-based retention would delete them before anyone read them.
 */
import { ensureTopic } from '../../lib/kafka/admin.ts';
import { createEventProducer, type EventProducer } from '../../lib/kafka/producer.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Batch } from '../world/batch.ts';
import type { Sink } from './types.ts';

export interface KafkaSinkOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  partitions: number;
  /** Messages per producer call. */
  chunk?: number;
  /** Producer calls in flight at once. */
  inFlight?: number;
}

export class KafkaSink implements Sink {
  readonly name = 'kafka';
  readonly #producer: EventProducer;
  readonly #topic: string;
  readonly #chunk: number;
  readonly #inFlight: number;
  readonly countsByType = new Map<string, number>();
  messages = 0;
  bytes = 0;

  private constructor(producer: EventProducer, options: KafkaSinkOptions) {
    this.#producer = producer;
    this.#topic = options.topic;
    this.#chunk = options.chunk ?? 2_000;
    this.#inFlight = options.inFlight ?? 6;
  }

  static async open(options: KafkaSinkOptions, logger: Logger): Promise<KafkaSink> {
    await ensureTopic(options.brokers, options.topic, options.partitions);
    const producer = await createEventProducer({ brokers: options.brokers, clientId: `${options.clientId}-generator` }, logger);
    return new KafkaSink(producer, options);
  }

  async write(batch: Batch): Promise<void> {
    const ordered = batch.orderedMessages();
    const pending = new Set<Promise<void>>();
    let failure: unknown;
    for (let i = 0; i < ordered.length; i += this.#chunk) {
      const slice = ordered.slice(i, i + this.#chunk);
      const sent = this.#producer
        .send(this.#topic, slice.map((m) => ({ key: m.key, value: m.value })))
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => pending.delete(sent));
      pending.add(sent);
      if (pending.size >= this.#inFlight) await Promise.race(pending);
      if (failure !== undefined) break;
    }
    await Promise.all(pending);
    if (failure !== undefined) throw failure;
    for (const m of ordered) {
      this.countsByType.set(m.type, (this.countsByType.get(m.type) ?? 0) + 1);
      this.bytes += m.value.length;
    }
    this.messages += ordered.length;
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}
