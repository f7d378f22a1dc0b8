/**
 * The initial snapshot, consistent with the replication slot: the slot is created with an
 * exported snapshot (CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT), a second session reads every
 * published table inside that snapshot (SET TRANSACTION SNAPSHOT) with COPY TO, and the rows go
 * through the typed encoder into raw_shop.<table> with COPY. The whole snapshot and the position
 * (the slot's consistent point, where the stream starts) commit in ONE warehouse transaction:
 * a crash leaves nothing behind, and the next start drops the slot and begins again (an exported
 * snapshot does not outlive the session that created the slot).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

import type { Logger } from '../../lib/logger.ts';
import { withTransaction } from '../../lib/pg/pool.ts';
import { copyJsonField, copyText, type ChangeRecord } from '../cdc/change.ts';
import type { ChangeTopicPublisher, SnapshotPublication } from '../cdc/change-topic.ts';
import { copyStreamInto } from '../cdc/copy-writer.ts';
import { writePosition } from '../cdc/positions.ts';
import { makeTypedRowEncoder } from '../cdc/typed-row.ts';
import { ensureTypedTable, mappedColumns, quoteIdent, TYPED_COPY_META, typedTableColumns, typedTableName } from '../cdc/typed-tables.ts';
import { toJsonText } from '../cdc/values.ts';
import { asSourceColumns } from './changes.ts';
import {
  checkSourceSettings,
  connectSource,
  dropSlot,
  ensurePublication,
  lsnToNumber,
  publishedTables,
  type PgSourceInfo,
  type PgTable,
} from './source.ts';
import { fastSnapshotSql, PrefixLines } from './snapshot-copy.ts';
import { splitCopyLine, pgValue } from './values.ts';

export interface PgSnapshotResult {
  rows: number;
  tables: number;
  /** The slot's consistent point: the stream's first transaction commits after it. */
  lsn: string;
}

/** COPY TO output (byte chunks) as one string per row. A raw newline only ever ends a row in text format. */
class CopyLines extends Transform {
  #rest: Buffer = Buffer.alloc(0);

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const data = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : chunk;
    let start = 0;
    for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
      this.push(data.toString('utf8', start, end));
      start = end + 1;
    }
    this.#rest = data.subarray(start);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#rest.length > 0) this.push(this.#rest.toString('utf8'));
    callback();
  }
}

interface SnapshotMeta {
  database: string;
  lsn: string;
  snapshotId: string;
  startedAt: string;
}

/** A row read in the snapshot as the change record the stream would give it (changes.ts rowChange): the same images. */
function snapshotRecord(table: PgTable, row: Record<string, unknown>, meta: SnapshotMeta): ChangeRecord {
  let primaryKeyJson: string | null = null;
  if (table.primaryKey.length > 0) {
    const key: Record<string, unknown> = {};
    for (const column of table.primaryKey) key[column] = row[column] ?? null;
    primaryKeyJson = toJsonText(key).json;
  }
  return {
    sourceDatabase: meta.database,
    tableName: table.name,
    operation: 'snapshot',
    primaryKeyJson,
    beforeJson: null,
    afterJson: toJsonText(row).json,
    binlogFile: meta.lsn,
    binlogPosition: lsnToNumber(meta.lsn),
    rowIndex: null,
    gtid: null,
    snapshotId: meta.snapshotId,
    sourceCommittedAt: meta.startedAt,
    ddl: null,
  };
}

/** Rows per chunk handed to the change topic: bounded memory whatever the table's size. */
const PUBLISH_CHUNK = 2_000;

/**
 * The table's rows read again inside the exported snapshot (the rows just copied to the
 * warehouse), added to the change topic's open snapshot transaction.
 */
async function publishTable(snap: pg.Client, table: PgTable, meta: SnapshotMeta, publication: SnapshotPublication): Promise<number> {
  const names = table.columns.map((c) => c.name);
  const kinds = table.columns.map((c) => c.kind);
  const out = snap.query(
    copyTo(`COPY ${quoteIdent('public')}.${quoteIdent(table.name)} (${names.map(quoteIdent).join(', ')}) TO STDOUT`),
  ) as unknown as Readable;
  const lines = out.pipe(new CopyLines());
  out.on('error', (error) => lines.destroy(error));
  let chunk: ChangeRecord[] = [];
  let rows = 0;
  for await (const line of lines as AsyncIterable<string>) {
    const fields = splitCopyLine(line);
    const row: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) row[names[i]!] = pgValue(fields[i] ?? null, kinds[i]!);
    chunk.push(snapshotRecord(table, row, meta));
    rows++;
    if (chunk.length >= PUBLISH_CHUNK) {
      await publication.rows(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await publication.rows(chunk);
  return rows;
}

async function copyTable(
  wh: pg.ClientBase,
  snap: pg.Client,
  table: PgTable,
  meta: { lsn: string; snapshotId: string; startedAt: string },
): Promise<number> {
  const existing = (await typedTableColumns(wh, [table.name])).get(table.name);
  const typed = await ensureTypedTable(wh, table.name, mappedColumns(asSourceColumns(table.columns)), existing);
  const encode = makeTypedRowEncoder(typed, true);
  const names = table.columns.map((c) => c.name);
  const kinds = table.columns.map((c) => c.kind);
  const prefix = `snapshot\t${copyText(meta.lsn)}\t${lsnToNumber(meta.lsn)}\t\\N\t\\N\t${copyText(meta.snapshotId)}\t${meta.startedAt}\t`;
  const copySql = `COPY ${typedTableName(table.name)} (${TYPED_COPY_META}${typed.map((c) => `, ${quoteIdent(c.name)}`).join('')}) FROM STDIN`;
  const fastSql = fastSnapshotSql('public', table, typed);
  if (fastSql !== null) {
    const source = snap.query(copyTo(`COPY (${fastSql}) TO STDOUT`)) as unknown as Readable;
    const prefixed = new PrefixLines(prefix);
    await pipeline(source, prefixed, wh.query(copyFrom(copySql)));
    return prefixed.rows;
  }
  const out = snap.query(
    copyTo(`COPY ${quoteIdent('public')}.${quoteIdent(table.name)} (${names.map(quoteIdent).join(', ')}) TO STDOUT`),
  ) as unknown as Readable;
  const lines = out.pipe(new CopyLines());
  out.on('error', (error) => lines.destroy(error));
  return copyStreamInto<string>(
    wh,
    lines,
    (line) => {
      const fields = splitCopyLine(line);
      const row: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) row[names[i]!] = pgValue(fields[i] ?? null, kinds[i]!);
      let keyJson: string | null = null;
      if (table.primaryKey.length > 0) {
        const key: Record<string, unknown> = {};
        for (const column of table.primaryKey) key[column] = row[column];
        keyJson = toJsonText(key).json;
      }
      const fieldsText = encode(row);
      const unmapped = encode.unmapped ? toJsonText(encode.unmapped).json : null;
      return `${prefix}${copyJsonField(keyJson)}\t${copyJsonField(unmapped)}${typed.length > 0 ? `\t${fieldsText}` : ''}\n`;
    },
    copySql,
  );
}

export async function runPgSnapshot(
  pool: pg.Pool,
  source: PgSourceInfo,
  sourceName: string,
  logger: Logger,
  onTable?: (table: string, rows: number) => void,
  changeTopic?: ChangeTopicPublisher,
): Promise<PgSnapshotResult> {
  const control = await connectSource(source, 'shopflow-ingest-pg-cdc');
  control.on('error', (error) => logger.warn({ err: error }, 'shop Postgres control connection error'));
  const repl = await connectSource(source, 'shopflow-ingest-pg-cdc-slot', true);
  repl.on('error', (error) => logger.warn({ err: error }, 'shop Postgres replication connection error'));
  const snap = await connectSource(source, 'shopflow-ingest-pg-cdc-snapshot');
  snap.on('error', (error) => logger.warn({ err: error }, 'shop Postgres snapshot connection error'));
  try {
    await control.connect();
    await checkSourceSettings(control);
    await ensurePublication(control, source);
    // A slot without a completed snapshot (an earlier attempt that died) has lost its exported snapshot.
    await dropSlot(control, source.slot);
    await repl.connect();
    const created = await repl.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(source.slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const { consistent_point: lsn, snapshot_name: snapshotName } = created.rows[0]!;
    const startedAt = new Date().toISOString();
    const startedNs = process.hrtime.bigint();
    const snapshotId = randomUUID();
    await snap.connect();
    await snap.query('begin isolation level repeatable read read only');
    await snap.query(`set transaction snapshot ${quoteLiteral(snapshotName)}`);
    const tables = await publishedTables(snap, source);
    logger.info({ lsn, tables: tables.map((t) => t.name), slot: source.slot }, 'snapshot: slot created, copying tables');
    const meta = { database: source.database, lsn, snapshotId, startedAt };
    // The change topic's copy of the snapshot: one Kafka transaction, committed just before the
    // warehouse's (ingest/cdc/change-topic.ts), so Kafka is never behind the warehouse.
    const publication = await changeTopic?.beginSnapshot(snapshotId, { file: source.slot, position: lsnToNumber(lsn) }, startedAt, {
      changeIdFloor: '0',
      replacedSource: false,
      layout: 'typed',
    });
    // A topic that already holds a capture (a snapshot whose warehouse commit failed, or the
    // capture before a lost slot) is ended table by table first, so the topic folds to this
    // snapshot's rows alone.
    if (publication && changeTopic?.published)
      await publication.rows(
        tables.map((table) => ({ ...snapshotRecord(table, {}, meta), operation: 'truncate', primaryKeyJson: null, afterJson: null })),
      );
    const rows = await withTransaction(pool, async (wh) => {
      // One statement per table: a big one outlasts the pool's default statement timeout.
      await wh.query('set local statement_timeout = 0');
      let total = 0;
      for (const table of tables) {
        const copied = await copyTable(wh, snap, table, { lsn, snapshotId, startedAt });
        if (publication) await publishTable(snap, table, meta, publication);
        onTable?.(table.name, copied);
        total += copied;
      }
      await writePosition(wh, {
        sourceName,
        binlogFile: source.slot,
        binlogPosition: lsnToNumber(lsn),
        gtid: null,
        snapshotId,
        snapshotState: 'done',
        snapshotProgress: { startedAt, rows: total, tablesDone: tables.map((t) => t.name) },
        sourceIdentity: null,
      });
      await publication?.commit();
      return total;
    }).catch(async (error: unknown) => {
      await publication?.abort().catch(() => undefined);
      throw error;
    });
    await snap.query('commit');
    // From the slot's creation to the warehouse commit: what bench ingest-pg-cdc reports.
    const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
    logger.info({ rows, lsn, seconds, rowsPerSecond: Math.round(rows / seconds) }, 'snapshot: committed');
    return { rows, tables: tables.length, lsn };
  } finally {
    await snap.end().catch(() => undefined);
    await repl.end().catch(() => undefined);
    await control.end().catch(() => undefined);
  }
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
