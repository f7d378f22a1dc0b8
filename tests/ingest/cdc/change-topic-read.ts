/**
 * Reading a change topic back in tests (ingest/cdc/change-topic.ts): every committed message with
 * read_committed, and the tables the messages fold to. Shared by the MariaDB and Postgres CDC tests.
 */
import { randomUUID } from 'node:crypto';

import { Kafka, logLevel } from 'kafkajs';

import type { ChangeMessage } from '../../../ingest/cdc/change-topic.ts';
import { compareCoordinates } from '../../../ingest/cdc/source.ts';
import { keyText } from './helpers.ts';

export type Json = Record<string, unknown>;

/** Every committed message of the topic, read to its end with read_committed. */
export async function readTopic(brokers: string[], topic: string, ends: Map<number, bigint>): Promise<(ChangeMessage & { key: string })[]> {
  const kafka = new Kafka({ clientId: 'test-change-topic', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `test-read-${randomUUID()}`, readUncommitted: false });
  const messages: (ChangeMessage & { key: string; partition: number; offset: bigint })[] = [];
  const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} took over 60 s`)), 60_000);
      const check = () => {
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      // Control records (commit and abort markers) end a batch without reaching eachMessage.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (BigInt(payload.lastOffset) >= ends.get(payload.partition)! - 1n) remaining.delete(payload.partition);
        check();
      });
      check();
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const value = JSON.parse(message.value!.toString('utf8')) as ChangeMessage;
        messages.push({ ...value, key: message.key!.toString('utf8'), partition, offset: BigInt(message.offset) });
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/**
 * The tables the messages add up to, applied in binlog order (a truncate empties its table). At
 * one coordinate and row index a truncate goes first: a replaced source's re-snapshot ends each
 * table with a truncate at the snapshot's coordinate, which its rows (on other keys, so other
 * partitions) follow (docs/lakehouse.md).
 */
export function fold(messages: readonly ChangeMessage[]): Map<string, Map<string, Json>> {
  const ordered = [...messages].sort(
    (a, b) =>
      compareCoordinates({ file: a.binlog_file!, position: a.binlog_position! }, { file: b.binlog_file!, position: b.binlog_position! }) ||
      (a.row_index ?? -1) - (b.row_index ?? -1) ||
      Number(b.operation === 'truncate') - Number(a.operation === 'truncate'),
  );
  const tables = new Map<string, Map<string, Json>>();
  for (const m of ordered) {
    const table = tables.get(m.table_name) ?? new Map<string, Json>();
    tables.set(m.table_name, table);
    if (m.operation === 'truncate') table.clear();
    if (m.primary_key === null) continue;
    const key = keyText(JSON.parse(m.primary_key) as Json);
    if (m.operation === 'delete') table.delete(key);
    else if (m.after_image !== null) table.set(key, JSON.parse(m.after_image) as Json);
  }
  return tables;
}
