/**
 * The SELECT a table's rows are read with outside the binlog: the snapshot, re-reads after an
 * ALTER or RENAME, and the change topic's copies of them.
 *
 * MariaDB's UUID, INET6 and INET4 columns reach the binlog as their bytes, and its table map
 * describes them as BINARY(16) or BINARY(4), so the binlog path cannot tell them from any other
 * binary column. A plain SELECT returns their text form instead, and the same row would land as
 * text from a snapshot and as bytes from the binlog. These columns are therefore read here as the
 * bytes the binlog carries (CAST AS BINARY gives exactly those), so both paths land one value:
 * bytea in the typed layout, base64 in the JSON one. docs/cdc.md says how staging reads them.
 */
import type { SourceColumn } from './type-map.ts';

/** Byte length of a type whose values the binlog carries as bytes, keyed by its COLUMN_TYPE. */
const BINARY_FORM_BYTES: Readonly<Record<string, number>> = { uuid: 16, inet6: 16, inet4: 4 };

/** The byte length the binlog gives a column of this COLUMN_TYPE, or undefined for other types. */
export function binaryFormBytes(columnType: string): number | undefined {
  return BINARY_FORM_BYTES[columnType.trim().toLowerCase()];
}

/** `SELECT *`, or the column list with the binlog's byte form for UUID, INET6 and INET4 columns. */
export function selectRowsSql(
  escapeId: (identifier: string) => string,
  database: string,
  table: string,
  columns: readonly SourceColumn[],
): string {
  const from = `FROM ${escapeId(database)}.${escapeId(table)}`;
  if (!columns.some((c) => binaryFormBytes(c.columnType) !== undefined)) return `SELECT * ${from}`;
  const list = columns.map((c) => {
    const bytes = binaryFormBytes(c.columnType);
    const name = escapeId(c.name);
    return bytes === undefined ? name : `CAST(${name} AS BINARY(${bytes})) AS ${name}`;
  });
  return `SELECT ${list.join(', ')} ${from}`;
}
