/**
 * The one home of the file sources' type map: a declared column type (source-config.ts) to the
 * Postgres type of its column in raw_files.<source>, and the widening rule when a source's
 * declared type changes. Migration 0240's ingest.files_ensure_typed_table accepts exactly these
 * types and these widenings (tests/ingest/files/typed-table.test.ts holds the two together).
 * Types are spelled as format_type prints them, so a table's columns compare as they are.
 */
import type { ColumnType } from './source-config.ts';

export const PG_TYPE_OF = {
  text: 'text',
  integer: 'bigint',
  numeric: 'numeric',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp without time zone',
} as const satisfies Record<ColumnType, string>;

export type FilePgType = (typeof PG_TYPE_OF)[ColumnType];

export const FILE_PG_TYPES: readonly FilePgType[] = [...new Set(Object.values(PG_TYPE_OF))];

/** Types whose column holds every value of the key type (its COPY text parses there too). */
const HOLDS: Record<FilePgType, readonly FilePgType[]> = {
  bigint: ['bigint', 'numeric', 'text'],
  numeric: ['numeric', 'text'],
  date: ['date', 'timestamp without time zone', 'text'],
  'timestamp without time zone': ['timestamp without time zone', 'text'],
  boolean: ['boolean', 'text'],
  text: ['text'],
};

/** Whether a column of type `wider` holds every value of type `narrower`. */
export function holds(wider: FilePgType, narrower: FilePgType): boolean {
  return HOLDS[narrower].includes(wider);
}

/**
 * The type a column must have to hold both what it holds (`existing`) and the values the source
 * now declares (`wanted`): the existing type when it holds the new values (a column declared
 * numeric, then integer, stays numeric), the new one when it holds the old, else text.
 */
export function widenFilePgType(existing: FilePgType, wanted: FilePgType): FilePgType {
  if (holds(existing, wanted)) return existing;
  if (holds(wanted, existing)) return wanted;
  return 'text';
}

export function isFilePgType(type: string): type is FilePgType {
  return (FILE_PG_TYPES as readonly string[]).includes(type);
}
