/**
 * Producing from several threads. Encoding a produce request costs the client library about
 * 25 µs of CPU per message, so one thread tops out near 40k messages/s on this class of
 * machine; the pool spreads partitions over worker threads (partition p -> thread p mod n).
 *
 * Order: requests for one partition are sent one after another, each after the previous one
 * was acknowledged, so a retried request can never overtake a later one and a key's messages
 * keep their order. Different partitions are in flight at once.
 */
import type { Worker } from 'node:worker_threads';

import { ServiceUnavailableError, ShopflowError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { startTsWorker } from '../threads/ts-worker.ts';
import type { EncodedMessages } from './message-buffer.ts';

export interface WorkerSettings {
  brokers: string[];
  clientId: string;
  component: string;
  logLevel: string;
}

export type ToWorker = { type: 'send'; id: number; topic: string; partition: number; messages: EncodedMessages } | { type: 'close' };
export type ToPool = { type: 'ready' } | { type: 'sent'; id: number } | { type: 'failed'; id: number; message: string } | { type: 'closed' };

export interface PartitionedProducer {
  /** Sends messages to one partition (the buffer is transferred). Calls for a partition are delivered in call order. */
  send(topic: string, partition: number, messages: EncodedMessages): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

const WORKER_URL = new URL('./producer-worker.ts', import.meta.url);

function startWorker(settings: WorkerSettings): Promise<Worker> {
  // A young generation big enough for a few requests in flight: the client allocates a buffer
  // or two per message, and a small one promotes them all to the old generation.
  const worker = startTsWorker(WORKER_URL, { ...settings }, { maxYoungGenerationSizeMb: 96 });
  return new Promise((resolve, reject) => {
    const onMessage = (message: ToPool) => {
      worker.off('error', onError);
      worker.off('message', onMessage);
      if (message.type === 'ready') resolve(worker);
      else reject(new ServiceUnavailableError(`Kafka producer thread could not connect: ${message.type === 'failed' ? message.message : message.type}`));
    };
    const onError = (error: Error) => {
      worker.off('message', onMessage);
      reject(error);
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
  });
}

export async function createProducerPool(
  options: { brokers: string[]; clientId: string; threads: number; logLevel?: string },
  logger: Logger,
): Promise<PartitionedProducer> {
  const settings: WorkerSettings = { brokers: options.brokers, clientId: options.clientId, component: `${options.clientId}-producer`, logLevel: options.logLevel ?? 'warn' };
  const started = await Promise.allSettled(Array.from({ length: Math.max(1, options.threads) }, () => startWorker(settings)));
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failedStart = started.find((s) => s.status === 'rejected');
  if (failedStart) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw failedStart.reason;
  }

  const pending = new Map<number, Pending>();
  const lastByPartition = new Map<string, Promise<boolean>>();
  let nextId = 1;
  let broken: Error | null = null;

  const failAll = (error: Error) => {
    broken ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  for (const worker of workers) {
    worker.on('message', (message: ToPool) => {
      if (message.type !== 'sent' && message.type !== 'failed') return;
      const p = pending.get(message.id);
      pending.delete(message.id);
      if (message.type === 'sent') p?.resolve();
      else p?.reject(new ShopflowError('SHOPFLOW_KAFKA_PRODUCE', `producing to Kafka failed: ${message.message}`, { canRetry: true }));
    });
    worker.on('error', (error) => {
      logger.error({ err: error }, 'Kafka producer thread crashed');
      failAll(new ShopflowError('SHOPFLOW_KAFKA_PRODUCE', `a Kafka producer thread crashed: ${error.message}`, { cause: error }));
    });
    worker.on('exit', (code) => {
      if (code !== 0) failAll(new ShopflowError('SHOPFLOW_KAFKA_PRODUCE', `a Kafka producer thread exited with code ${code}`));
    });
  }

  const dispatch = (topic: string, partition: number, messages: EncodedMessages) =>
    new Promise<void>((resolve, reject) => {
      if (broken) return reject(broken);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      workers[partition % workers.length]!.postMessage({ type: 'send', id, topic, partition, messages } satisfies ToWorker, [messages.data, messages.lengths.buffer]);
    });

  return {
    send(topic, partition, messages) {
      const slot = `${topic}\u0000${partition}`;
      const previous = lastByPartition.get(slot) ?? Promise.resolve(true);
      // The next request for a partition leaves only after the previous one was acknowledged;
      // after a failure nothing more goes to that partition (the caller sees the error and stops).
      const sent = previous.then((ok) =>
        ok ? dispatch(topic, partition, messages) : Promise.reject(broken ?? new ShopflowError('SHOPFLOW_KAFKA_PRODUCE', `not sent: an earlier request to ${topic}[${partition}] failed`)),
      );
      lastByPartition.set(
        slot,
        sent.then(
          () => true,
          () => false,
        ),
      );
      return sent;
    },
    async close() {
      await Promise.allSettled(lastByPartition.values());
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 15_000);
              worker.on('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              worker.postMessage({ type: 'close' } satisfies ToWorker);
            }),
        ),
      );
    },
  };
}
