/** Reading the positions the warehouse holds: where to resume, and whether a group is caught up. */
import type pg from 'pg';

import type { NonDataRun, PartitionWatermarks } from '../../lib/kafka/source.ts';

export async function loadStoredOffsets(
  pool: pg.Pool | pg.PoolClient,
  groupId: string,
  topic: string,
  partitions: number[],
): Promise<Map<number, bigint>> {
  const result = await pool.query<{ kafka_partition: number; next_offset: string }>(
    `select kafka_partition, next_offset from ingest.kafka_offsets
     where consumer_group = $1 and topic = $2 and kafka_partition = any($3::int[])`,
    [groupId, topic, partitions],
  );
  return new Map(result.rows.map((r) => [r.kafka_partition, BigInt(r.next_offset)]));
}

/**
 * Where a partition resumes: the stored next offset, or the start of the log for a partition
 * this group never committed. A stored offset below the log start (retention deleted records
 * never loaded) resumes at the log start; the caller reports the loss.
 */
export function resumeOffset(stored: bigint | undefined, watermarks: PartitionWatermarks | undefined): bigint {
  const low = watermarks?.low ?? 0n;
  if (stored === undefined) return low;
  return stored < low ? low : stored;
}

/** Offsets still to load per partition: high watermark minus the resume position. */
export function remainingByPartition(
  partitions: number[],
  stored: Map<number, bigint>,
  watermarks: PartitionWatermarks[],
  targets?: Map<number, bigint>,
): Map<number, bigint> {
  const byPartition = new Map(watermarks.map((w) => [w.partition, w]));
  const remaining = new Map<number, bigint>();
  for (const p of partitions) {
    const w = byPartition.get(p);
    const high = targets?.get(p) ?? w?.high ?? 0n;
    const position = resumeOffset(stored.get(p), w);
    remaining.set(p, high > position ? high - position : 0n);
  }
  return remaining;
}

export function totalRemaining(
  partitions: number[],
  stored: Map<number, bigint>,
  watermarks: PartitionWatermarks[],
  targets?: Map<number, bigint>,
): bigint {
  return [...remainingByPartition(partitions, stored, watermarks, targets).values()].reduce((a, b) => a + b, 0n);
}

/**
 * Positions to judge "caught up" by: each stored position moved past the partition's last run of
 * records without data (a transaction's marker, an aborted transaction's records) when that run
 * starts at or before it. Such records are never delivered, so the position stored after the
 * last delivered record would otherwise stay below the high watermark for good. A run that starts
 * later leaves the position alone: records between them may still hold data.
 */
export function stepOverNonData(
  partitions: number[],
  stored: Map<number, bigint>,
  watermarks: PartitionWatermarks[],
  runOf: (partition: number) => NonDataRun | undefined,
): Map<number, bigint> {
  const byPartition = new Map(watermarks.map((w) => [w.partition, w]));
  const positions = new Map(stored);
  for (const p of partitions) {
    const run = runOf(p);
    if (!run) continue;
    const position = resumeOffset(stored.get(p), byPartition.get(p));
    if (run.from <= position && run.next > position) positions.set(p, run.next);
  }
  return positions;
}
