/**
 * The typed change-log tables (raw_shop.<source table>): what columns they have, and bringing
 * one up to the source columns a batch or a snapshot is about to write, inside the caller's
 * transaction (so a table or column exists exactly when the rows that need it do). The DDL runs
 * through ingest.cdc_ensure_typed_table (migration 0140): ingest_writer does not own the tables.
 */
import { createHash } from 'node:crypto';

import type pg from 'pg';

import { pgTypeOf, widenPgType, type SourceColumn } from './type-map.ts';
import type { TypedColumn } from './typed-row.ts';

export const TYPED_SCHEMA = 'raw_shop';

/** Columns of every typed table ahead of the source's own (migration 0140). */
export const TYPED_META_COLUMNS = [
  'change_id',
  'operation',
  'binlog_file',
  'binlog_position',
  'row_index',
  'gtid',
  'snapshot_id',
  'source_committed_at',
  '_loaded_at',
  '_key',
  '_unmapped',
] as const;

const META = new Set<string>(TYPED_META_COLUMNS);

/** The COPY column list's head for rows that take change_id from the sequence (snapshots). */
export const TYPED_COPY_META =
  'operation, binlog_file, binlog_position, row_index, gtid, snapshot_id, source_committed_at, _key, _unmapped';

/** The longest identifier Postgres keeps whole; a longer one is cut without an error. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * The raw_shop relation of a source table: its own name when Postgres can hold it, else the
 * longest prefix of at most 54 bytes, '_' and 8 hex digits of the whole name's SHA-256
 * (MariaDB allows 64 characters, up to 256 bytes). The one home of this rule; migration 0221
 * records each such relation's source table in ingest.cdc_typed_table_sources.
 */
export function typedRelationName(table: string): string {
  if (Buffer.byteLength(table) <= MAX_IDENTIFIER_BYTES) return table;
  let prefix = '';
  for (const char of table) {
    if (Buffer.byteLength(prefix + char) > MAX_IDENTIFIER_BYTES - 9) break;
    prefix += char;
  }
  return `${prefix}_${createHash('sha256').update(table).digest('hex').slice(0, 8)}`;
}

/** raw_shop.<relation> of a source table, quoted for SQL. */
export function typedTableName(table: string): string {
  return `${TYPED_SCHEMA}.${quoteIdent(typedRelationName(table))}`;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The source columns of existing typed tables by source table, in column order (tables absent: no entry). */
export async function typedTableColumns(
  client: Pick<pg.ClientBase, 'query'>,
  tables: readonly string[],
): Promise<Map<string, TypedColumn[]>> {
  const sourceOf = new Map(tables.map((table) => [typedRelationName(table), table]));
  const result = await client.query<{ table_name: string; name: string; pg_type: string }>(
    `select c.relname as table_name, a.attname as name, format_type(a.atttypid, a.atttypmod) as pg_type
       from pg_class c join pg_attribute a on a.attrelid = c.oid
      where c.relnamespace = $1::regnamespace and c.relkind = 'r' and c.relname = any($2::text[])
        and a.attnum > 0 and not a.attisdropped
      order by c.relname, a.attnum`,
    [TYPED_SCHEMA, [...sourceOf.keys()]],
  );
  const columns = new Map<string, TypedColumn[]>();
  for (const row of result.rows) {
    const table = sourceOf.get(row.table_name)!;
    let list = columns.get(table);
    if (!list) columns.set(table, (list = []));
    if (!META.has(row.name)) list.push({ name: row.name, pgType: row.pg_type });
  }
  return columns;
}

/** Source columns with a Postgres type and a name the log can hold; the rest land in _unmapped. */
export function mappedColumns(source: readonly SourceColumn[]): TypedColumn[] {
  const mapped: TypedColumn[] = [];
  for (const column of source) {
    const pgType = column.pgType !== undefined ? column.pgType : pgTypeOf(column.columnType);
    if (pgType && !META.has(column.name) && Buffer.byteLength(column.name) <= 63) mapped.push({ name: column.name, pgType });
  }
  return mapped;
}

/**
 * Makes raw_shop.<table> hold `wanted` (created, columns added, types widened where the source
 * changed one) and returns all of its source columns. `existing` is what typedTableColumns gave
 * (undefined: no table yet).
 */
export async function ensureTypedTable(
  client: pg.ClientBase,
  table: string,
  wanted: readonly TypedColumn[],
  existing: readonly TypedColumn[] | undefined,
): Promise<TypedColumn[]> {
  const have = new Map((existing ?? []).map((c) => [c.name, c.pgType]));
  const changes: TypedColumn[] = [];
  for (const column of wanted) {
    const current = have.get(column.name);
    const target = current === undefined ? column.pgType : widenPgType(current, column.pgType);
    if (target !== current) {
      changes.push({ name: column.name, pgType: target });
      have.set(column.name, target);
    }
  }
  if (existing && changes.length === 0) return [...existing];
  const relation = typedRelationName(table);
  await client.query('select ingest.cdc_ensure_typed_table($1, $2::text[], $3::text[])', [
    relation,
    changes.map((c) => c.name),
    changes.map((c) => c.pgType),
  ]);
  if (!existing && relation !== table) await client.query('select ingest.cdc_name_typed_table($1, $2)', [relation, table]);
  return (await typedTableColumns(client, [table])).get(table) ?? [];
}
