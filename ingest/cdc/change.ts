/**
 * One row of raw.shop_changes and its COPY text-format encoding. JSON columns are carried as
 * already-serialised text so the hot path stringifies each row exactly once.
 */
import type { SourceColumn } from './type-map.ts';

/** Where row changes land: jsonb images in raw.shop_changes, or raw_shop.<table> (docs/cdc.md). */
export type RawLayout = 'jsonb' | 'typed';

export type ChangeOperation = 'snapshot' | 'insert' | 'update' | 'delete' | 'truncate' | 'schema_change';

export interface ChangeRecord {
  sourceDatabase: string;
  tableName: string;
  operation: ChangeOperation;
  primaryKeyJson: string | null;
  beforeJson: string | null;
  afterJson: string | null;
  binlogFile: string | null;
  binlogPosition: number | null;
  rowIndex: number | null;
  gtid: string | null;
  snapshotId: string | null;
  /** ISO-8601 instant of the source commit (binlog event time; snapshot start for snapshot rows). */
  sourceCommittedAt: string | null;
  /** The DDL statement text, for schema_change and truncate rows. */
  ddl: string | null;
  /** Row changes read from the binlog: the table's columns as the event describes them (typed layout). */
  sourceColumns?: readonly SourceColumn[];
}

/** Column list matching encodeChange's field order. */
export const CHANGE_COLUMNS = [
  'source_database',
  'table_name',
  'operation',
  'primary_key',
  'before_image',
  'after_image',
  'binlog_file',
  'binlog_position',
  'row_index',
  'gtid',
  'snapshot_id',
  'source_committed_at',
  'ddl',
] as const;

export const COPY_CHANGES_SQL = `COPY raw.shop_changes (${CHANGE_COLUMNS.join(', ')}) FROM STDIN`;

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** COPY text format: backslash, tab, newline and carriage return are escaped; NULL is \N. */
export function copyText(value: string | null): string {
  if (value === null) return '\\N';
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r'));
}

/** JSON text never holds raw tabs or newlines (JSON.stringify escapes them), only backslashes. */
export function copyJsonField(json: string | null): string {
  if (json === null) return '\\N';
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

function copyNumber(value: number | null): string {
  return value === null ? '\\N' : String(value);
}

export function encodeChange(change: ChangeRecord): string {
  return (
    `${copyText(change.sourceDatabase)}\t${copyText(change.tableName)}\t${change.operation}\t` +
    `${copyJsonField(change.primaryKeyJson)}\t${copyJsonField(change.beforeJson)}\t${copyJsonField(change.afterJson)}\t` +
    `${copyText(change.binlogFile)}\t${copyNumber(change.binlogPosition)}\t${copyNumber(change.rowIndex)}\t` +
    `${copyText(change.gtid)}\t${copyText(change.snapshotId)}\t${copyText(change.sourceCommittedAt)}\t${copyText(change.ddl)}\n`
  );
}
