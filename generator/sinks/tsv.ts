/**
 * Rows as the text LOAD DATA reads with loadDataSql's clauses: fields split by tabs, rows by
 * newlines, NULL as \N, and backslash, tab, newline, carriage return and NUL escaped with a
 * backslash. MariaDB parses this several times faster than the same rows as SQL literals.
 */
import type { Row, SqlValue, TableName } from '../world/rows.ts';
import { columnList } from './sql.ts';

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPE_ALL = new RegExp(NEEDS_ESCAPE.source, 'g');
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

export function tsvField(value: SqlValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} to MariaDB`);
    return String(value);
  }
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPE_ALL, (ch) => ESCAPES[ch]!) : value;
}

/** The rows as one UTF-8 buffer, a line each. */
export function tsvRows(rows: readonly Row[]): Buffer {
  let text = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) text += (i === 0 ? '' : '\t') + tsvField(row[i]!);
    text += '\n';
  }
  return Buffer.from(text, 'utf8');
}

/**
 * LOAD DATA LOCAL INFILE of tsvRows() of `table`'s rows into `target` (`table` itself or its
 * staging table; the columns are listed, so a staging table's sequence fills itself). The file
 * name is what the client gets back when the server asks for the rows (a path, or a label for
 * rows handed over from memory).
 */
export function loadDataSql(target: string, table: TableName, fileName: string): string {
  return (
    `LOAD DATA LOCAL INFILE '${fileName}' INTO TABLE \`${target}\` CHARACTER SET utf8mb4 ` +
    "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' " +
    `(${columnList(table)})`
  );
}

/** Name of the session's temporary staging table for upserts into `table`. */
export const stagingTable = (table: TableName): string => `shopflow_stage_${table}`;
