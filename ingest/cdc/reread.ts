/**
 * ALTER TABLE rewrites every row of a table (a renamed column, a wider DECIMAL scale, a new
 * column's default) without writing row events, so the log's latest image of an untouched row
 * keeps the old shape. After an ALTER of a captured table, its rows are read again from the
 * source and logged as snapshot rows (snapshot_id `alter:<file>:<position>`) at the ALTER's place.
 *
 * The read happens when the batch lands, a little after the ALTER: a row changed in between is
 * read in its newer state and its binlog changes follow in the log; the last of them is that same
 * newer state, so once the ingestor has caught up the derived state equals the source again.
 */
import type pg from 'pg';

import type { RawLayout } from './change.ts';
import type { CdcDeadLetter } from './dead-letters.ts';
import { copyTable } from './snapshot.ts';
import { openSourceConnection, primaryKeys, type SourceInfo } from './source.ts';
import type { SourceTransaction } from './transaction-assembler.ts';

export async function rereadTable(
  client: pg.ClientBase,
  source: SourceInfo,
  table: string,
  tx: SourceTransaction,
  layout?: RawLayout,
): Promise<{ rows: number; deadLetters: CdcDeadLetter[] }> {
  const { query, core } = await openSourceConnection(source);
  try {
    // Dropped or renamed since the ALTER: its later DDL in the log ends or moves its rows. Asked
    // first, because a failed SELECT would abort the COPY and with it the batch's transaction.
    const [exists] = await query.query('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [
      source.database,
      table,
    ]);
    if ((exists as unknown[]).length === 0) return { rows: 0, deadLetters: [] };
    const primaryKey = (await primaryKeys(query, source.database, table)).get(table) ?? [];
    const coordinate = { file: tx.endFile, position: tx.endPosition };
    return await copyTable(
      client,
      core,
      {
        source,
        table: { name: table, primaryKey, estimatedRows: 0 },
        snapshotId: `alter:${tx.endFile}:${tx.endPosition}`,
        coordinate,
        startedAt: new Date(tx.committedAtMs).toISOString(),
        ...(layout ? { layout } : {}),
      },
      () => undefined,
    );
  } finally {
    await query.end().catch(() => core.destroy());
  }
}
