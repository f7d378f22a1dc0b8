/** Our key -> partition rule must pick exactly the partition the client library's default partitioner picks. */
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';

import { keyBytesPartitioner, keyPartitioner } from '../../../lib/kafka/partition.ts';

function libraryPartition(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata, message: { key, value: null } });
}

describe('keyPartitioner', () => {
  it('agrees with the default partitioner for UUIDs, short keys, every tail length and non-ASCII keys', () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'sess-1', 'ünïcødé-ключ-鍵', '\u0000\u00ff'];
    for (let i = 0; i < 500; i++) keys.push(crypto.randomUUID(), crypto.randomUUID().slice(0, i % 37));
    for (const partitions of [1, 3, 6, 12, 64]) {
      const ours = keyPartitioner(partitions);
      const oursFromBytes = keyBytesPartitioner(partitions);
      for (const key of keys) {
        expect(ours(key), `${JSON.stringify(key)} over ${partitions}`).toBe(libraryPartition(key, partitions));
        expect(oursFromBytes(Buffer.from(key)), `${JSON.stringify(key)} as bytes over ${partitions}`).toBe(
          libraryPartition(key, partitions),
        );
      }
    }
  });

  it('spreads session keys over every partition', () => {
    const ours = keyPartitioner(6);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 6_000; i++) counts[ours(crypto.randomUUID())]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });
});
