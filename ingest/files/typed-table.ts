/**
 * raw_files.<source>: the typed table a file source's rows land in (migration 0240). Before a
 * file's rows are copied, its source's table is brought up to the declared columns inside the
 * landing transaction (created, columns added, types widened through
 * ingest.files_ensure_typed_table: ingest_writer does not own the table), so a column exists
 * exactly when rows that need it do. A column no longer declared stays, null in new rows.
 */
import type pg from 'pg';

import { ShopflowError } from '../../lib/errors.ts';
import { isFilePgType, PG_TYPE_OF, widenFilePgType, type FilePgType } from './pg-types.ts';
import type { FileSource } from './source-config.ts';

export const FILES_TYPED_SCHEMA = 'raw_files';

/** Columns of every typed file table besides the declared ones; no declared column may use these names. */
export const TYPED_META_COLUMNS = ['file_id', 'line_number', '_loaded_at'] as const;

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** raw_files.<source>, quoted. Source names are SQL identifiers of at most 63 bytes (source-config.ts). */
export function typedTableName(source: Pick<FileSource, 'name'>): string {
  return `${FILES_TYPED_SCHEMA}.${quoteIdent(source.name)}`;
}

/** The table's current columns (meta columns left out) by name, or null when it does not exist. */
export async function typedTableColumns(client: Pick<pg.ClientBase, 'query'>, sourceName: string): Promise<Map<string, string> | null> {
  const result = await client.query<{ exists: boolean; name: string | null; pg_type: string | null }>(
    `select t.oid is not null as exists, a.attname::text as name, format_type(a.atttypid, a.atttypmod) as pg_type
       from (select to_regclass(format('%I.%I', $1::text, $2::text)) as oid) t
       left join pg_attribute a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [FILES_TYPED_SCHEMA, sourceName],
  );
  if (!result.rows[0]?.exists) return null;
  const meta = new Set<string>(TYPED_META_COLUMNS);
  return new Map(result.rows.filter((r) => r.name !== null && !meta.has(r.name)).map((r) => [r.name!, r.pg_type!]));
}

/**
 * Makes raw_files.<source> hold the source's declared columns and returns the COPY target
 * (`raw_files."<source>" (file_id, line_number, "<column>", ...)`, declared order). Runs inside
 * the caller's transaction; the DDL, when any is needed, commits or rolls back with the rows.
 */
export async function ensureTypedTable(client: pg.ClientBase, source: FileSource): Promise<string> {
  const existing = await typedTableColumns(client, source.name);
  const changes: { name: string; type: FilePgType }[] = [];
  for (const column of source.columns) {
    const wanted = PG_TYPE_OF[column.type];
    const current = existing?.get(column.name);
    if (current === undefined) {
      changes.push({ name: column.name, type: wanted });
      continue;
    }
    if (!isFilePgType(current))
      throw new ShopflowError(
        'FILES_TYPED_TABLE_CHANGED',
        `${typedTableName(source)}.${column.name} is ${current}, not a type the file ingestor gives (was it altered by hand?)`,
      );
    const target = widenFilePgType(current, wanted);
    if (target !== current) changes.push({ name: column.name, type: target });
  }
  if (existing === null || changes.length > 0) {
    await client.query('select ingest.files_ensure_typed_table($1, $2::text[], $3::text[])', [
      source.name,
      changes.map((c) => c.name),
      changes.map((c) => c.type),
    ]);
  }
  const columns = source.columns.map((c) => quoteIdent(c.name)).join(', ');
  return `${typedTableName(source)} (file_id, line_number, ${columns})`;
}
