/**
 * Producing pre-encoded record batches (lib/kafka/record-batch.ts) partition by partition.
 *
 * Order: requests for one partition are sent one after another, each after the previous one
 * was acknowledged, so a retried request can never overtake a later one and a key's messages
 * keep their order. Different partitions are in flight at once.
 */
import { ShopflowError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createEventProducer } from './producer.ts';
import type { EncodedRecords } from './record-batch.ts';

export interface PartitionedProducer {
  /** Sends one partition's records. Calls for a partition are delivered in call order. */
  send(topic: string, partition: number, records: EncodedRecords): Promise<void>;
  /** Waits for every request handed over, then disconnects. */
  close(): Promise<void>;
}

export async function createPartitionedProducer(
  options: { brokers: string[]; clientId: string },
  logger: Logger,
): Promise<PartitionedProducer> {
  const producer = await createEventProducer(options, logger);
  const lastByPartition = new Map<string, Promise<boolean>>();
  let broken: Error | null = null;

  return {
    send(topic, partition, records) {
      const slot = `${topic}\u0000${partition}`;
      const previous = lastByPartition.get(slot) ?? Promise.resolve(true);
      // After a failure nothing more goes to that partition (the caller sees the error and stops).
      const sent = previous.then(async (ok) => {
        if (!ok)
          throw broken ?? new ShopflowError('SHOPFLOW_KAFKA_PRODUCE', `not sent: an earlier request to ${topic}[${partition}] failed`);
        try {
          await producer.sendRecords(topic, partition, records);
        } catch (error) {
          broken ??= new ShopflowError(
            'SHOPFLOW_KAFKA_PRODUCE',
            `producing to ${topic}[${partition}] failed: ${(error as Error).message}`,
            { cause: error, canRetry: true },
          );
          throw broken;
        }
      });
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
      await producer.disconnect();
    },
  };
}
