/**
 * Lands a batch of whole source transactions: their changes, the binlog position they end at and
 * a metrics row, in ONE Postgres transaction. Either all of it is visible or none of it, so a
 * crash at any point resumes from a position that matches exactly what raw.shop_changes holds.
 *
 * Two kinds of transaction need more than a COPY, and are applied in source order:
 * - XA: a prepared transaction's changes wait in ingest.cdc_xa_prepared; XA COMMIT lands them
 *   (positioned at the commit), XA ROLLBACK deletes them.
 * - RENAME TABLE a TO b: b continues a's rows: a's current rows are logged again under b (as
 *   inserts at the rename's position), then a is truncated.
 * - ALTER TABLE: the table's rows are read again from the source (reread.ts).
 */
import type pg from 'pg';

import { withTransaction } from '../../lib/pg/pool.ts';
import type { ChangeRecord, RawLayout } from './change.ts';
import { copyChanges } from './copy-writer.ts';
import { insertDeadLetters, type CdcDeadLetter } from './dead-letters.ts';
import { advanceBinlogPosition } from './positions.ts';
import { rereadTable } from './reread.ts';
import { applyTypedRename } from './typed-rename.ts';
import { copyTypedChanges } from './typed-writer.ts';
import type { SourceInfo } from './source.ts';
import type { SourceTransaction, TableRename } from './transaction-assembler.ts';

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
  /** The source, for the tables an ALTER TABLE asks to read again. */
  source?: SourceInfo;
  /** Where row changes land (CDC_RAW_LAYOUT); jsonb when not given. */
  layout?: RawLayout;
}

interface Prepared {
  changes: ChangeRecord[];
  deadLetters: CdcDeadLetter[];
  preparedAt: string;
}

/** The prepared changes, positioned where the XA COMMIT is (so they follow every earlier commit). */
function atCommit(prepared: Prepared, tx: SourceTransaction): ChangeRecord[] {
  const committedAt = new Date(tx.committedAtMs).toISOString();
  return prepared.changes.map((change, index) => ({
    ...change,
    binlogFile: tx.endFile,
    binlogPosition: tx.endPosition,
    rowIndex: index,
    gtid: tx.gtid,
    sourceCommittedAt: committedAt,
  }));
}

async function takePrepared(client: pg.ClientBase, sourceName: string, xid: string): Promise<Prepared | null> {
  const result = await client.query<{ changes: ChangeRecord[]; dead_letters: CdcDeadLetter[]; prepared_at: string }>(
    'delete from ingest.cdc_xa_prepared where source_name = $1 and xid = $2 returning changes, dead_letters, prepared_at',
    [sourceName, xid],
  );
  const row = result.rows[0];
  return row ? { changes: row.changes, deadLetters: row.dead_letters, preparedAt: row.prepared_at } : null;
}

/** b continues a: a's current rows (latest per key after its last truncate, deletes removed) under b; then a ends. */
async function applyRename(
  client: pg.ClientBase,
  tx: SourceTransaction,
  rename: TableRename,
  firstRowIndex: number,
  database: string,
): Promise<number> {
  const committedAt = new Date(tx.committedAtMs).toISOString();
  const ddl = tx.changes[0]?.ddl ?? null;
  const inserted = await client.query(
    `with last_truncate as (
       select coalesce(max(change_id), 0) as change_id from raw.shop_changes
        where table_name = $1 and source_database = $7 and operation = 'truncate'
     ), latest as (
       select distinct on (primary_key) primary_key, operation, after_image, change_id
         from raw.shop_changes
        where table_name = $1 and source_database = $7 and primary_key is not null
          and operation in ('snapshot', 'insert', 'update', 'delete')
          and change_id > (select change_id from last_truncate)
        order by primary_key, change_id desc
     )
     insert into raw.shop_changes (source_database, table_name, operation, primary_key, before_image, after_image,
                                   binlog_file, binlog_position, row_index, gtid, source_committed_at)
     select $7, $2, 'insert', primary_key, null, after_image, $3, $4, $5 + (row_number() over (order by change_id))::int - 1, $6, $8::timestamptz
       from latest
      where operation <> 'delete'
      order by change_id`,
    [rename.from, rename.to, tx.endFile, tx.endPosition, firstRowIndex, tx.gtid, database, committedAt],
  );
  const copied = inserted.rowCount ?? 0;
  await client.query(
    `insert into raw.shop_changes (source_database, table_name, operation, binlog_file, binlog_position, row_index, gtid, source_committed_at, ddl)
     values ($1, $2, 'truncate', $3, $4, $5, $6, $7::timestamptz, $8)`,
    [database, rename.from, tx.endFile, tx.endPosition, firstRowIndex + copied, tx.gtid, committedAt, ddl],
  );
  return copied + 1;
}

export async function commitBatch(context: SinkContext, batch: readonly SourceTransaction[]): Promise<BatchResult> {
  const last = batch.at(-1);
  if (!last) throw new Error('commitBatch needs at least one transaction');
  const started = Date.now();
  const gtid = [...batch].reverse().find((tx) => tx.gtid)?.gtid ?? null;

  return withTransaction(context.pool, async (client) => {
    let rows = 0;
    let segment: ChangeRecord[] = [];
    const letters: (CdcDeadLetter & { position: string })[] = [];
    const flush = async () => {
      if (segment.length === 0) return;
      rows += context.layout === 'typed' ? await copyTypedChanges(client, segment) : await copyChanges(client, segment);
      segment = [];
    };
    // Prepared in this batch and not resolved in it: kept in ingest.cdc_xa_prepared.
    const prepared = new Map<string, Prepared>();
    let oldest = Infinity;
    let newest = -Infinity;
    for (const tx of batch) {
      const position = `${tx.endFile}:${tx.endPosition}`;
      let landed = 0;
      if (tx.xa?.kind === 'prepare') {
        if (tx.changes.length > 0 || tx.deadLetters.length > 0)
          prepared.set(tx.xa.xid, { changes: tx.changes, deadLetters: tx.deadLetters, preparedAt: position });
      } else if (tx.xa) {
        const held = prepared.get(tx.xa.xid) ?? (await takePrepared(client, context.sourceName, tx.xa.xid));
        prepared.delete(tx.xa.xid);
        if (held && tx.xa.kind === 'commit') {
          const changes = atCommit(held, tx);
          segment.push(...changes);
          landed += changes.length;
          for (const letter of held.deadLetters) letters.push({ ...letter, position });
        }
      } else {
        segment.push(...tx.changes);
        landed += tx.changes.length;
        for (const letter of tx.deadLetters) letters.push({ ...letter, position });
        if (tx.renames) {
          await flush();
          let rowIndex = tx.changes.length;
          for (const rename of tx.renames) {
            const database = tx.changes[0]?.sourceDatabase ?? context.sourceName;
            const added =
              context.layout === 'typed'
                ? await applyTypedRename(client, tx, rename, rowIndex, database)
                : await applyRename(client, tx, rename, rowIndex, database);
            rowIndex += added;
            rows += added;
          }
          landed += 1;
        }
        if (tx.rereads && context.source) {
          await flush();
          for (const table of tx.rereads) {
            const reread = await rereadTable(client, context.source, table, tx, context.layout);
            rows += reread.rows;
            for (const letter of reread.deadLetters) letters.push({ ...letter, position });
          }
          landed += 1;
        }
      }
      if (landed > 0) {
        oldest = Math.min(oldest, tx.committedAtMs);
        newest = Math.max(newest, tx.committedAtMs);
      }
    }
    await flush();
    for (const [xid, held] of prepared) {
      await client.query(
        `insert into ingest.cdc_xa_prepared (source_name, xid, changes, dead_letters, prepared_at) values ($1, $2, $3, $4, $5)
         on conflict (source_name, xid) do update set changes = excluded.changes, dead_letters = excluded.dead_letters, prepared_at = excluded.prepared_at`,
        [context.sourceName, xid, JSON.stringify(held.changes), JSON.stringify(held.deadLetters), held.preparedAt],
      );
    }
    await advanceBinlogPosition(client, context.sourceName, last.endFile, last.endPosition, gtid);
    await insertDeadLetters(client, letters);
    const now = Date.now();
    const maxLagMs = Number.isFinite(oldest) ? now - oldest : null;
    const minLagMs = Number.isFinite(newest) ? now - newest : null;
    const batchMs = now - started;
    if (rows > 0) {
      await client.query(
        `insert into ingest.metrics (component, instance_id, rows_loaded, dead_letters, batch_ms, rows_per_second, lag_ms, details)
         values ('cdc', $1, $2, $3, $4, $5, $6, $7)`,
        [
          context.instanceId,
          rows,
          letters.length,
          batchMs,
          batchMs > 0 ? (rows * 1000) / batchMs : null,
          maxLagMs,
          JSON.stringify({
            transactions: batch.length,
            min_lag_ms: minLagMs,
            binlog_file: last.endFile,
            binlog_position: last.endPosition,
          }),
        ],
      );
    }
    return { rows, transactions: batch.length, endFile: last.endFile, endPosition: last.endPosition, maxLagMs, minLagMs, batchMs };
  });
}
