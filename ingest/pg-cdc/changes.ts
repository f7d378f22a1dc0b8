/**
 * pgoutput messages as the change log's records (ingest/cdc/change.ts's ChangeRecord), the shape
 * the typed sink lands. A row image holds every column the Relation message lists, each value's
 * text converted by values.ts; the key is the table's primary key (with REPLICA IDENTITY FULL
 * pgoutput flags every column as part of the identity, so the key comes from the catalog).
 */
import type { Pgoutput } from 'pg-logical-replication';

import type { ChangeOperation, ChangeRecord } from '../cdc/change.ts';
import type { SourceColumn } from '../cdc/type-map.ts';
import { toJsonText } from '../cdc/values.ts';
import { pgColumnType } from './type-map.ts';
import type { PgTableColumn } from './source.ts';
import { pgValue } from './values.ts';

/** A relation as the stream knows it: its columns mapped once per Relation message. */
export interface RelationInfo {
  name: string;
  columns: PgTableColumn[];
  sourceColumns: SourceColumn[];
  primaryKey: string[];
}

export function asSourceColumns(columns: readonly PgTableColumn[]): SourceColumn[] {
  return columns.map((c) => ({ name: c.name, columnType: c.sourceType, pgType: c.rawType }));
}

export function relationInfo(message: Pgoutput.MessageRelation, primaryKey: string[]): RelationInfo {
  const columns = message.columns.map((c) => ({ name: c.name, ...pgColumnType(c.typeOid, c.typeMod, c.typeName) }));
  return { name: message.name, columns, sourceColumns: asSourceColumns(columns), primaryKey };
}

/** What a Relation message changed against the previous one of the same table, as schema_change text; null if nothing. */
export function relationChange(before: RelationInfo | undefined, after: RelationInfo, schema: string): string | null {
  const describe = (c: PgTableColumn) => `${c.name} ${c.sourceType}`;
  if (!before) return null;
  const old = new Map(before.columns.map((c) => [c.name, c.sourceType]));
  return describeChange(old, after, schema, describe);
}

/**
 * The first Relation message of a table in a session, against the raw_shop table the warehouse
 * has (its raw types, not the source's): new columns and a new table are logged even when the
 * change happened while the ingestor was stopped. null if the table holds every column already.
 */
export function relationChangeFromWarehouse(
  existing: readonly { name: string }[] | undefined,
  after: RelationInfo,
  schema: string,
): string | null {
  if (!existing)
    return `-- relation ${schema}.${after.name} is new (pgoutput Relation message): ${after.columns.map((c) => `${c.name} ${c.sourceType}`).join(', ')}`;
  const have = new Set(existing.map((c) => c.name));
  const added = after.columns.filter((c) => !have.has(c.name));
  if (added.length === 0) return null;
  return `-- relation ${schema}.${after.name} changed (pgoutput Relation message): added ${added.map((c) => `${c.name} ${c.sourceType}`).join(', ')}`;
}

function describeChange(
  old: Map<string, string>,
  after: RelationInfo,
  schema: string,
  describe: (c: PgTableColumn) => string,
): string | null {
  const now = new Map(after.columns.map((c) => [c.name, c.sourceType]));
  const added = after.columns.filter((c) => !old.has(c.name)).map(describe);
  const dropped = [...old.keys()].filter((name) => !now.has(name));
  const retyped = after.columns.filter((c) => old.has(c.name) && old.get(c.name) !== c.sourceType).map(describe);
  if (added.length + dropped.length + retyped.length === 0) return null;
  const parts = [
    ...(added.length ? [`added ${added.join(', ')}`] : []),
    ...(dropped.length ? [`dropped ${dropped.join(', ')}`] : []),
    ...(retyped.length ? [`retyped ${retyped.join(', ')}`] : []),
  ];
  return `-- relation ${schema}.${after.name} changed (pgoutput Relation message): ${parts.join('; ')}`;
}

/** A tuple (column name -> text, pgoutput's values left unparsed) as a row in the JSON value format. */
export function imageOf(relation: RelationInfo, tuple: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const column of relation.columns) {
    const text = tuple[column.name];
    // undefined: an unchanged TOASTed value pgoutput did not send and no old row supplied.
    if (text === undefined) continue;
    row[column.name] = pgValue(text as string | null, column.kind);
  }
  return row;
}

export interface TxContext {
  database: string;
  commitLsn: string;
  commitLsnNumber: number;
  xid: string;
  committedAt: string;
}

export function rowChange(
  tx: TxContext,
  relation: RelationInfo,
  operation: Extract<ChangeOperation, 'insert' | 'update' | 'delete'>,
  image: Record<string, unknown>,
  rowIndex: number,
): ChangeRecord {
  let primaryKeyJson: string | null = null;
  if (relation.primaryKey.length > 0) {
    const key: Record<string, unknown> = {};
    for (const column of relation.primaryKey) key[column] = image[column] ?? null;
    primaryKeyJson = toJsonText(key).json;
  }
  const json = toJsonText(image).json;
  return {
    sourceDatabase: tx.database,
    tableName: relation.name,
    operation,
    primaryKeyJson,
    beforeJson: operation === 'delete' ? json : null,
    afterJson: operation === 'delete' ? null : json,
    binlogFile: tx.commitLsn,
    binlogPosition: tx.commitLsnNumber,
    rowIndex,
    gtid: tx.xid,
    snapshotId: null,
    sourceCommittedAt: tx.committedAt,
    ddl: null,
    sourceColumns: relation.sourceColumns,
  };
}

export function logChange(
  tx: TxContext,
  table: string,
  operation: 'truncate' | 'schema_change',
  ddl: string,
  rowIndex: number,
): ChangeRecord {
  return {
    sourceDatabase: tx.database,
    tableName: table,
    operation,
    primaryKeyJson: null,
    beforeJson: null,
    afterJson: null,
    binlogFile: tx.commitLsn,
    binlogPosition: tx.commitLsnNumber,
    rowIndex,
    gtid: tx.xid,
    snapshotId: null,
    sourceCommittedAt: tx.committedAt,
    ddl,
  };
}
