/**
 * Multi-row INSERT / upsert statements for the source tables, built as text with MySQL string
 * escaping. Rows are split so one statement stays well under max_allowed_packet.
 */
import { COLUMNS, updatableColumns, type Row, type SqlValue, type TableName } from '../world/rows.ts';

const ESCAPES: Record<string, string> = {
  '\0': '\\0',
  '\n': '\\n',
  '\r': '\\r',
  '\b': '\\b',
  '\t': '\\t',
  '\x1a': '\\Z',
  '"': '\\"',
  "'": "\\'",
  '\\': '\\\\',
};
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\0\n\r\b\t\x1a"'\\]/g;

export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} to SQL`);
    return String(value);
  }
  return `'${value.replace(NEEDS_ESCAPE, (ch) => ESCAPES[ch]!)}'`;
}

export interface StatementLimits {
  maxRows: number;
  maxBytes: number;
}

export const DEFAULT_LIMITS: StatementLimits = { maxRows: 2_000, maxBytes: 2 * 1024 * 1024 };

/** `table`'s columns, quoted and comma-separated, in COLUMNS order (the order rows carry them). */
export function columnList(table: TableName): string {
  return COLUMNS[table].map((c) => `\`${c}\``).join(', ');
}

/** The ON DUPLICATE KEY UPDATE clause of an upsert: every column but the key and created_at takes the new row's value. */
export function onDuplicateKeyUpdate(table: TableName): string {
  return `ON DUPLICATE KEY UPDATE ${updatableColumns(table)
    .map((c) => `\`${c}\` = VALUES(\`${c}\`)`)
    .join(', ')}`;
}

/** INSERT (or INSERT ... ON DUPLICATE KEY UPDATE every non-key column) statements for `rows`. */
export function* writeStatements(
  table: TableName,
  kind: 'insert' | 'upsert',
  rows: readonly Row[],
  limits: StatementLimits = DEFAULT_LIMITS,
): Generator<{ sql: string; rows: number }> {
  const head = `INSERT INTO \`${table}\` (${columnList(table)}) VALUES `;
  const tail = kind === 'upsert' ? ` ${onDuplicateKeyUpdate(table)}` : '';
  let parts: string[] = [];
  let bytes = head.length + tail.length;
  for (const row of rows) {
    const tuple = `(${row.map(sqlLiteral).join(',')})`;
    if (parts.length > 0 && (parts.length >= limits.maxRows || bytes + tuple.length + 1 > limits.maxBytes)) {
      yield { sql: head + parts.join(',') + tail, rows: parts.length };
      parts = [];
      bytes = head.length + tail.length;
    }
    parts.push(tuple);
    bytes += tuple.length + 1;
  }
  if (parts.length > 0) yield { sql: head + parts.join(',') + tail, rows: parts.length };
}
