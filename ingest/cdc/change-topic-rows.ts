/**
 * A table's rows as read from the source, as change records for the change topic: the snapshot's
 * rows (read again inside the snapshot's own consistent transaction, so they are the rows the
 * warehouse copied) and the rows an ALTER or RENAME TABLE makes the warehouse write again.
 * Values go through the same converter as the warehouse's snapshot COPY (values.ts), so an image
 * here is the same JSON text as in raw.shop_changes.
 */
import type mysqlCore from 'mysql2';
import type { FieldPacket } from 'mysql2';

import type { ChangeOperation, ChangeRecord } from './change.ts';
import { selectRowsSql } from './snapshot-select.ts';
import { sourceColumns, type BinlogCoordinate } from './source.ts';
import { makeRowConverter, toJsonText, type RowConverter } from './values.ts';

export interface RowsAt {
  database: string;
  table: string;
  primaryKey: readonly string[];
  operation: Extract<ChangeOperation, 'snapshot' | 'insert'>;
  coordinate: BinlogCoordinate;
  /** Snapshot rows: the snapshot's id; re-read rows: `alter:<file>:<position>`; rename rows: null. */
  snapshotId: string | null;
  committedAt: string;
  /** Row index of the first row (rename rows follow the transaction's own changes); null: none. */
  firstRowIndex: number | null;
}

/** Rows per chunk handed to the caller: bounded memory whatever the table's size. */
const CHUNK = 2_000;

/** Streams the table's rows (snapshot-select.ts) on `connection`, handing over chunks of change records. */
export async function readTableChanges(
  connection: mysqlCore.Connection,
  at: RowsAt,
  onChunk: (changes: ChangeRecord[]) => Promise<void>,
): Promise<number> {
  const columns = await sourceColumns(connection.promise(), at.database, at.table);
  const query = connection.query(selectRowsSql((id) => connection.escapeId(id), at.database, at.table, columns));
  let convert: RowConverter | null = null;
  query.on('fields', (fields: FieldPacket[]) => {
    convert = makeRowConverter(fields.map((f) => ({ name: f.name, typeCode: f.columnType ?? 0 })));
  });
  let count = 0;
  let chunk: ChangeRecord[] = [];
  for await (const raw of query.stream({ highWaterMark: CHUNK })) {
    const row = convert!(raw as Record<string, unknown>);
    let keyJson: string | null = null;
    if (at.primaryKey.length > 0) {
      const key: Record<string, unknown> = {};
      for (const column of at.primaryKey) key[column] = row[column];
      keyJson = toJsonText(key).json;
    }
    chunk.push({
      sourceDatabase: at.database,
      tableName: at.table,
      operation: at.operation,
      primaryKeyJson: keyJson,
      beforeJson: null,
      afterJson: toJsonText(row).json,
      binlogFile: at.coordinate.file,
      binlogPosition: at.coordinate.position,
      rowIndex: at.firstRowIndex === null ? null : at.firstRowIndex + count,
      gtid: null,
      snapshotId: at.snapshotId,
      sourceCommittedAt: at.committedAt,
      ddl: null,
    });
    count += 1;
    if (chunk.length >= CHUNK) {
      await onChunk(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await onChunk(chunk);
  return count;
}
