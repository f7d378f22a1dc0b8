/**
 * Lands a batch of whole source transactions: their changes, the binlog position they end at and
 * a metrics row, in ONE Postgres transaction. Either all of it is visible or none of it, so a
 * crash at any point resumes from a position that matches exactly what raw.shop_changes holds.
 */
import type pg from 'pg';

import { withTransaction } from '../../lib/pg/pool.ts';
import { copyChanges } from './copy-writer.ts';
import { advanceBinlogPosition } from './positions.ts';
import type { SourceTransaction } from './transaction-assembler.ts';

export interface BatchResult {
  rows: number;
  transactions: number;
  endFile: string;
  endPosition: number;
  /** Source commit to warehouse commit, oldest and newest transaction with changes (ms). */
  maxLagMs: number | null;
  minLagMs: number | null;
  batchMs: number;
}

export interface SinkContext {
  pool: pg.Pool;
  sourceName: string;
  instanceId: string;
}

function* changesOf(batch: readonly SourceTransaction[]) {
  for (const tx of batch) yield* tx.changes;
}

export async function commitBatch(context: SinkContext, batch: readonly SourceTransaction[]): Promise<BatchResult> {
  const last = batch.at(-1);
  if (!last) throw new Error('commitBatch needs at least one transaction');
  const started = Date.now();
  const rows = batch.reduce((sum, tx) => sum + tx.changes.length, 0);
  const withChanges = batch.filter((tx) => tx.changes.length > 0);
  const gtid = [...batch].reverse().find((tx) => tx.gtid)?.gtid ?? null;
  const nulReplaced = batch.reduce((sum, tx) => sum + tx.nulReplaced, 0);

  return withTransaction(context.pool, async (client) => {
    if (rows > 0) await copyChanges(client, changesOf(batch));
    await advanceBinlogPosition(client, context.sourceName, last.endFile, last.endPosition, gtid);
    if (nulReplaced > 0) {
      await client.query(
        `insert into raw.dead_letters (source, source_position, error_code, reason, details)
         values ('cdc', $1, 'CDC_NUL_IN_TEXT', $2, $3)`,
        [
          `${last.endFile}:${last.endPosition}`,
          'text values held U+0000, which jsonb cannot store; landed with U+FFFD in its place',
          JSON.stringify({ rows: nulReplaced, transactions: batch.filter((tx) => tx.nulReplaced > 0).map((tx) => `${tx.endFile}:${tx.endPosition}`) }),
        ],
      );
    }
    const now = Date.now();
    let oldest = Infinity;
    let newest = -Infinity;
    for (const tx of withChanges) {
      oldest = Math.min(oldest, tx.committedAtMs);
      newest = Math.max(newest, tx.committedAtMs);
    }
    const maxLagMs = withChanges.length > 0 ? now - oldest : null;
    const minLagMs = withChanges.length > 0 ? now - newest : null;
    const batchMs = now - started;
    if (rows > 0) {
      await client.query(
        `insert into ingest.metrics (component, instance_id, rows_loaded, dead_letters, batch_ms, rows_per_second, lag_ms, details)
         values ('cdc', $1, $2, $3, $4, $5, $6, $7)`,
        [
          context.instanceId,
          rows,
          nulReplaced > 0 ? 1 : 0,
          batchMs,
          batchMs > 0 ? (rows * 1000) / batchMs : null,
          maxLagMs,
          JSON.stringify({ transactions: batch.length, min_lag_ms: minLagMs, binlog_file: last.endFile, binlog_position: last.endPosition }),
        ],
      );
    }
    return { rows, transactions: batch.length, endFile: last.endFile, endPosition: last.endPosition, maxLagMs, minLagMs, batchMs };
  });
}
