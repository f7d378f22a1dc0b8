/**
 * The producing side of a Kafka client as ShopFlow sees it (source.ts is the consuming side):
 * messages to a topic, and pre-encoded record batches to one partition. Only
 * kafkajs-producer.ts knows which client library sits underneath (producer.ts picks it), so
 * replacing the client touches this folder alone.
 */
import type { EncodedRecords } from './record-batch.ts';

export interface OutgoingMessage {
  key: string | Buffer | null;
  value: string | Buffer | null;
  /** Epoch milliseconds; defaults to the send time. */
  timestampMs?: number;
  partition?: number;
}

export interface EventProducer {
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** Sends records already encoded (lib/kafka/record-batch.ts) to one partition, in one request. */
  sendRecords(topic: string, partition: number, records: EncodedRecords): Promise<void>;
  disconnect(): Promise<void>;
}

export interface EventProducerOptions {
  brokers: string[];
  clientId: string;
  compression?: 'none' | 'gzip';
  /**
   * Retries cannot write a record twice (the broker drops a resent batch by its sequence
   * number); one request in flight. For `send` only: pre-encoded records carry no sequence.
   */
  idempotent?: boolean;
}
