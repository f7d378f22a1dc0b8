/**
 * The initial (or repeated) snapshot: every base table of the captured database, read inside one
 * `START TRANSACTION WITH CONSISTENT SNAPSHOT` and paired with the binlog coordinate that matches
 * it, streamed into raw.shop_changes with COPY.
 *
 * Restart policy: each table is committed in its own Postgres transaction together with the
 * snapshot's progress (state 'running'). A consistent snapshot cannot outlive its MariaDB
 * connection, so a snapshot interrupted midway is not resumed: the next start deletes the rows of
 * that snapshot_id (all above the change_id floor recorded when it began, through
 * ingest.discard_interrupted_snapshot) and takes a new one.
 * No snapshot row is ever present twice, and the binlog is only followed once state is 'done'.
 *
 * With the change topic on, the same rows go to Kafka in one transaction committed just before
 * the final 'done' commit; a snapshot whose rows Kafka already holds is completed on restart
 * (completeSnapshot), not taken again, so the topic never holds a snapshot twice.
 */
import { randomBytes } from 'node:crypto';

import type mysql from 'mysql2/promise';
import type mysqlCore from 'mysql2';
import type { FieldPacket } from 'mysql2';
import type pg from 'pg';

import { withTransaction } from '../../lib/pg/pool.ts';
import type { Logger } from '../../lib/logger.ts';
import { copyJsonField, copyText, type RawLayout } from './change.ts';
import { copyTableTyped } from './typed-snapshot.ts';
import { copyStreamInto } from './copy-writer.ts';
import { readPosition, writePosition, type CdcPosition } from './positions.ts';
import {
  binlogHead,
  detectFlavor,
  listTables,
  openSourceConnection,
  sourceColumns,
  type BinlogCoordinate,
  type SourceInfo,
  type TableInfo,
} from './source.ts';
import { invalidDateLetters, insertDeadLetters, nulLetter, type CdcDeadLetter } from './dead-letters.ts';
import { makeRowConverter, toJsonText, type RowConverter } from './values.ts';
import { endReplacedWorld, resnapshotDeletes } from './resnapshot.ts';
import { selectRowsSql } from './snapshot-select.ts';
import { readSourceIdentity } from './source-identity.ts';
import type { SnapshotPublication, SnapshotPublisher } from './change-topic.ts';

export interface SnapshotProgressEvent {
  table: string;
  tableRows: number;
  totalRows: number;
  estimatedTotal: number;
}

export interface SnapshotOptions {
  source: SourceInfo;
  pool: pg.Pool;
  sourceName: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Where the rows land (CDC_RAW_LAYOUT); jsonb when not given. */
  layout?: RawLayout;
  /** The source was replaced (source-identity.ts): end every table's earlier rows with a truncate. */
  replacedSource?: string;
  onStart?: (tables: TableInfo[], estimatedTotal: number) => void;
  onProgress?: (event: SnapshotProgressEvent) => void;
  /** Also publish the rows to the change topic (change-topic.ts), exactly once. */
  changeTopic?: SnapshotPublisher;
}

const JSONB_FLOOR_SQL = 'select coalesce(max(change_id), 0)::text as floor from raw.shop_changes';
/** Every change id handed out so far, typed tables included: the shared sequence's last value. */
const TYPED_FLOOR_SQL =
  'select (case when is_called then last_value else last_value - 1 end)::text as floor from raw.shop_changes_change_id_seq';

export interface SnapshotResult {
  position: CdcPosition;
  rows: number;
  tables: number;
  seconds: number;
}

/** Removes what an interrupted snapshot left behind, so the next one starts clean. */
export async function discardInterruptedSnapshot(pool: pg.Pool, previous: CdcPosition, logger: Logger): Promise<number> {
  if (previous.snapshotState !== 'running' || !previous.snapshotId) return 0;
  const floor = previous.snapshotProgress.changeIdFloor ?? '0';
  return withTransaction(pool, async (client) => {
    await unboundedStatements(client);
    // ingest_writer may not delete from raw (an append-only log): this function may, and only
    // the rows of the running snapshot, never of one that completed (migration 0090).
    const result = await client.query<{ deleted: string }>('select ingest.discard_interrupted_snapshot($1, $2, $3)::text as deleted', [
      previous.sourceName,
      previous.snapshotId,
      floor,
    ]);
    const deleted = Number(result.rows[0]!.deleted);
    const carried = previous.snapshotProgress.replacedSource ? { replacedSource: previous.snapshotProgress.replacedSource } : {};
    await writePosition(client, { ...previous, snapshotState: 'pending', snapshotProgress: carried });
    logger.warn({ snapshotId: previous.snapshotId, deletedRows: deleted }, 'discarded an interrupted snapshot; taking a new one');
    return deleted;
  });
}

/**
 * Snapshot statements run as long as the table is big, so no statement timeout; instead Postgres
 * checks every few seconds that the ingestor is still there, and stops the work if it was killed.
 */
async function unboundedStatements(client: pg.ClientBase): Promise<void> {
  await client.query("set local statement_timeout = 0; set local client_connection_check_interval = '5s'");
}

async function startConsistentSnapshot(connection: mysql.Connection): Promise<{ coordinate: BinlogCoordinate; startedAt: string }> {
  await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  const flavor = await detectFlavor(connection);
  let coordinate: BinlogCoordinate;
  if (flavor === 'mariadb') {
    // MariaDB reports the binlog coordinate that matches the snapshot: no global lock needed.
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [rows] = await connection.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
    const status = new Map((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name.toLowerCase(), r.Value]));
    coordinate = { file: status.get('binlog_snapshot_file') ?? '', position: Number(status.get('binlog_snapshot_position')) };
    if (!coordinate.file) throw new Error('Binlog_snapshot_file is empty: is log_bin enabled on the source?');
  } else {
    // MySQL has no such status: hold a global read lock just long enough to pair the two.
    await connection.query('FLUSH TABLES WITH READ LOCK');
    try {
      await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      coordinate = await binlogHead(connection);
    } finally {
      await connection.query('UNLOCK TABLES');
    }
  }
  const [now] = await connection.query('SELECT UTC_TIMESTAMP(3) AS now');
  const startedAt = `${String((now as { now: string }[])[0]!.now).replace(' ', 'T')}Z`;
  return { coordinate, startedAt };
}

function newSnapshotId(startedAt: string): string {
  return `snap-${startedAt.replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`;
}

export async function runSnapshot(options: SnapshotOptions): Promise<SnapshotResult> {
  const { source, pool, sourceName, logger } = options;
  const started = process.hrtime.bigint();
  const previous = await readPosition(pool, sourceName);
  if (previous) await discardInterruptedSnapshot(pool, previous, logger);
  // A retry of an interrupted re-snapshot of a replaced source is still one.
  const replacedSource = options.replacedSource ?? previous?.snapshotProgress.replacedSource;

  const { query: connection, core } = await openSourceConnection(source);
  let publication: SnapshotPublication | null = null;
  const abort = () => core.destroy();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const { coordinate, startedAt } = await startConsistentSnapshot(connection);
    // Listed after the snapshot began: a table created later is absent here and arrives through the binlog.
    const tables = await listTables(connection, source.database);
    const estimatedTotal = tables.reduce((sum, t) => sum + t.estimatedRows, 0);
    const snapshotId = newSnapshotId(startedAt);
    const layout = options.layout ?? 'jsonb';
    const floor = (await pool.query<{ floor: string }>(layout === 'typed' ? TYPED_FLOOR_SQL : JSONB_FLOOR_SQL)).rows[0]!.floor;
    const progress = {
      changeIdFloor: floor,
      startedAt,
      tablesDone: [] as string[],
      rows: 0,
      ...(replacedSource ? { replacedSource } : {}),
    };
    const sourceIdentity = await readSourceIdentity(connection, coordinate);
    const running: CdcPosition = {
      sourceName,
      binlogFile: coordinate.file,
      binlogPosition: coordinate.position,
      gtid: null,
      snapshotId,
      snapshotState: 'running',
      snapshotProgress: progress,
      sourceIdentity,
    };
    await withTransaction(pool, async (client) => {
      await writePosition(client, running);
      if (replacedSource) {
        const ended = await endReplacedWorld(client, {
          sourceDatabase: source.database,
          snapshotId,
          coordinate,
          startedAt,
          reason: replacedSource,
          layout,
        });
        logger.warn(
          { tables: ended, reason: replacedSource },
          're-snapshot of a replaced source: every table logged so far ends with a truncate',
        );
      }
    });
    logger.info(
      { snapshotId, binlogFile: coordinate.file, binlogPosition: coordinate.position, tables: tables.length, estimatedTotal },
      'snapshot started',
    );
    options.onStart?.(tables, estimatedTotal);
    publication =
      (await options.changeTopic?.beginSnapshot(snapshotId, coordinate, startedAt, {
        changeIdFloor: floor,
        replacedSource: Boolean(replacedSource),
        layout,
      })) ?? null;

    let totalRows = 0;
    for (const table of tables) {
      options.signal?.throwIfAborted();
      const rows = await withTransaction(pool, async (client) => {
        await unboundedStatements(client);
        const { rows: copied, deadLetters } = await copyTable(
          client,
          core,
          { source, table, snapshotId, coordinate, startedAt, layout },
          (tableRows) => options.onProgress?.({ table: table.name, tableRows, totalRows: totalRows + tableRows, estimatedTotal }),
        );
        await insertDeadLetters(
          client,
          deadLetters.map((letter) => ({ ...letter, position: `${snapshotId}:${table.name}` })),
        );
        progress.tablesDone.push(table.name);
        progress.rows += copied;
        await writePosition(client, running);
        return copied;
      });
      totalRows += rows;
      await publication?.table(core, table);
      logger.info({ table: table.name, rows }, 'snapshot table copied');
    }

    await publication?.commit();
    publication = null;
    const done = await completeSnapshot(pool, running, layout, logger);
    await connection.query('COMMIT');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    logger.info(
      { snapshotId, rows: totalRows, tables: tables.length, seconds, rowsPerSecond: Math.round(totalRows / seconds) },
      'snapshot done',
    );
    return { position: done, rows: totalRows, tables: tables.length, seconds };
  } finally {
    await publication?.abort().catch(() => undefined);
    options.signal?.removeEventListener('abort', abort);
    await connection.end().catch(() => core.destroy());
  }
}

/**
 * The snapshot's last step, once every table is copied: a re-snapshot logs the rows gone since the
 * last capture as deletes; the position turns 'done'. Also run on restart for a snapshot whose
 * every table is committed and whose rows the change topic already holds.
 */
export async function completeSnapshot(pool: pg.Pool, running: CdcPosition, layout: RawLayout, logger: Logger): Promise<CdcPosition> {
  const { replacedSource, ...finished } = running.snapshotProgress;
  const floor = finished.changeIdFloor ?? '0';
  const done: CdcPosition = { ...running, snapshotState: 'done', snapshotProgress: finished };
  await withTransaction(pool, async (client) => {
    await unboundedStatements(client);
    if (!replacedSource && BigInt(floor) > 0n) {
      const deletes = await resnapshotDeletes(client, {
        sourceDatabase: running.sourceName,
        snapshotId: running.snapshotId!,
        changeIdFloor: floor,
        coordinate: { file: running.binlogFile!, position: running.binlogPosition! },
        startedAt: finished.startedAt!,
        layout,
      });
      if (deletes > 0) logger.warn({ deletes }, 're-snapshot: rows gone from the source since the last capture were logged as deletes');
    }
    await writePosition(client, done);
  });
  return done;
}

export interface TableCopy {
  source: SourceInfo;
  table: TableInfo;
  snapshotId: string;
  coordinate: BinlogCoordinate;
  startedAt: string;
  layout?: RawLayout;
}

/** Dead letters kept per table and snapshot; past this, one more letter counts the rest. */
const MAX_SNAPSHOT_LETTERS = 10_000;

export async function copyTable(
  client: pg.ClientBase,
  connection: mysqlCore.Connection,
  copy: TableCopy,
  onRows: (rows: number) => void,
): Promise<{ rows: number; deadLetters: CdcDeadLetter[] }> {
  const deadLetters: CdcDeadLetter[] = [];
  let unkept = 0;
  const keep = (letters: CdcDeadLetter[]) => {
    for (const letter of letters) {
      if (deadLetters.length < MAX_SNAPSHOT_LETTERS) deadLetters.push(letter);
      else unkept++;
    }
  };
  const { table } = copy;
  const copied =
    copy.layout === 'typed'
      ? copyTableTyped(client, connection, copy, keep, onRows)
      : copyJsonbRows(client, connection, copy, keep, onRows);
  return copied.then((rows) => {
    onRows(rows);
    if (unkept > 0) {
      deadLetters.push({
        code: deadLetters[0]!.code,
        reason: `${unkept} more rows of ${table.name} had values like the letters before this one; only the first ${MAX_SNAPSHOT_LETTERS} are kept one by one`,
        table: table.name,
        primaryKeyJson: null,
        payload: '',
        details: { table: table.name, more_rows: unkept },
      });
    }
    return { rows, deadLetters };
  });
}

/** The table's rows as raw.shop_changes rows (jsonb images). */
async function copyJsonbRows(
  client: pg.ClientBase,
  connection: mysqlCore.Connection,
  copy: TableCopy,
  keep: (letters: CdcDeadLetter[]) => void,
  onRows: (rows: number) => void,
): Promise<number> {
  const { source, table } = copy;
  const columns = await sourceColumns(connection.promise(), source.database, table.name);
  const query = connection.query(selectRowsSql((id) => connection.escapeId(id), source.database, table.name, columns));
  let convert: RowConverter | null = null;
  query.on('fields', (fields: FieldPacket[]) => {
    convert = makeRowConverter(fields.map((f) => ({ name: f.name, typeCode: f.columnType ?? 0 })));
  });
  const prefix = `${copyText(source.database)}\t${copyText(table.name)}\tsnapshot\t`;
  const suffix = `\t${copyText(copy.coordinate.file)}\t${copy.coordinate.position}\t\\N\t\\N\t${copyText(copy.snapshotId)}\t${copy.startedAt}\t\\N\n`;
  const pk = table.primaryKey;
  let count = 0;
  return copyStreamInto<Record<string, unknown>>(client, query.stream({ highWaterMark: 2048 }), (raw) => {
    const converter = convert!;
    const row = converter(raw);
    let keyJson: string | null = null;
    if (pk.length > 0) {
      const key: Record<string, unknown> = {};
      for (const column of pk) key[column] = row[column];
      keyJson = toJsonText(key).json;
    }
    const after = toJsonText(row);
    if (converter.issues.length > 0) keep(invalidDateLetters(table.name, keyJson, 'snapshot', converter.issues));
    if (after.hadNul) keep([nulLetter(table.name, keyJson, 'snapshot', JSON.stringify(row))]);
    if (++count % 10_000 === 0) onRows(count);
    return `${prefix}${copyJsonField(keyJson)}\t\\N\t${copyJsonField(after.json)}${suffix}`;
  });
}
