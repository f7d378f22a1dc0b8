/**
 * The snapshot's fast path: the shop server prints each row already as the typed change log's
 * COPY text (`_key`, `_unmapped`, then the source columns in the typed table's order), so the
 * ingestor only puts the snapshot's meta fields in front of each line and passes the bytes on
 * to COPY FROM. Parsing every value in Node (values.ts, then the typed encoder) took most of the
 * snapshot's time (docs/pg-cdc.md, "Speed").
 *
 * The SQL gives exactly what the converter path gives, value for value: a value the typed
 * encoder would send to `_unmapped` (NaN and infinities, dates and timestamps outside years
 * 1-9999) goes there as its text, and `_key` is the JSON text toJsonText writes. Where that
 * cannot be said in SQL (a key column of another kind, a warehouse table whose types were
 * widened since), fastSnapshotSql returns null and the converter path is used.
 */
import { Transform, type TransformCallback } from 'node:stream';

import { quoteIdent } from '../cdc/typed-tables.ts';
import type { TypedColumn } from '../cdc/typed-row.ts';
import type { PgTable, PgTableColumn } from './source.ts';

const SAFE_INTEGER = '9007199254740991';

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The column's value as the typed column takes it, and the condition under which it goes to _unmapped instead. */
function valueAndMisfit(column: PgTableColumn): { value: string; misfit: string | null } {
  const c = quoteIdent(column.name);
  switch (column.kind) {
    case 'integer':
    case 'bytea':
    case 'text':
      return { value: c, misfit: null };
    case 'boolean':
      return { value: `${c}::int`, misfit: null };
    case 'numeric':
      // A numeric(p,s) column cannot hold an infinity, so its one misfit is NaN (equal to itself in Postgres).
      return {
        value: c,
        misfit:
          column.rawType === 'numeric' ? `${c} in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric)` : `${c} = 'NaN'::numeric`,
      };
    case 'float':
      return { value: c, misfit: `${c}::float8 in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)` };
    case 'date':
      return { value: c, misfit: `${c} not between '0001-01-01'::date and '9999-12-31'::date` };
    case 'timestamp':
      return { value: c, misfit: `not (${c} >= '0001-01-01'::timestamp and ${c} < '10000-01-01'::timestamp)` };
    case 'timestamptz':
      return { value: c, misfit: `not (${c} >= '0001-01-01 00:00:00+00'::timestamptz and ${c} < '10000-01-01 00:00:00+00'::timestamptz)` };
  }
}

/** A key column's JSON text as toJsonText writes pgValue's value: safe integers as numbers, everything else as a string. */
function keyJson(column: PgTableColumn): string | null {
  const c = quoteIdent(column.name);
  if (column.kind === 'integer')
    return column.sourceType === 'bigint'
      ? `case when ${c} between -${SAFE_INTEGER} and ${SAFE_INTEGER} then ${c}::text else to_json(${c}::text)::text end`
      : `${c}::text`;
  if (column.kind === 'text' || column.kind === 'numeric') return `to_json(${c}::text)::text`;
  return null;
}

/**
 * `SELECT _key, _unmapped, <typed columns>` for COPY TO, or null when the fast path cannot
 * promise the converter path's result. `typed` is the warehouse table's source columns.
 */
export function fastSnapshotSql(schema: string, table: PgTable, typed: readonly TypedColumn[]): string | null {
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  if (typed.length === 0 || typed.length !== table.columns.length) return null;
  for (const column of typed) if (byName.get(column.name)?.rawType !== column.pgType) return null;

  let key = 'null::text';
  if (table.primaryKey.length > 0) {
    const parts: string[] = [];
    for (const [i, name] of table.primaryKey.entries()) {
      const json = keyJson(byName.get(name)!);
      if (json === null) return null;
      parts.push(`${literal(`${i === 0 ? '{' : ','}${JSON.stringify(name)}:`)} || ${json}`);
    }
    key = `${parts.join(' || ')} || '}'`;
  }

  const values: string[] = [];
  const unmapped: string[] = [];
  for (const column of typed) {
    const { value, misfit } = valueAndMisfit(byName.get(column.name)!);
    if (misfit === null) {
      values.push(value);
      continue;
    }
    values.push(`case when ${misfit} then null else ${value} end`);
    unmapped.push(
      `case when ${misfit} then jsonb_build_object(${literal(column.name)}, ${quoteIdent(column.name)}::text) else '{}'::jsonb end`,
    );
  }
  const unmappedSql = unmapped.length > 0 ? `nullif(${unmapped.join(' || ')}, '{}'::jsonb)` : 'null::jsonb';
  return `select ${key}, ${unmappedSql}, ${values.join(', ')} from ${quoteIdent(schema)}.${quoteIdent(table.name)}`;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * COPY TO text (one CopyData message per row) in, COPY FROM text out in ~64 KB writes, each
 * line with `prefix` in front. `rows` counts the lines. A raw newline only ever ends a row in
 * COPY text format, so no field is looked into.
 */
export class PrefixLines extends Transform {
  readonly #prefix: Buffer;
  #parts: Buffer[] = [];
  #length = 0;
  #atLineStart = true;
  rows = 0;

  constructor(prefix: string) {
    super();
    this.#prefix = Buffer.from(prefix, 'utf8');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    while (start < chunk.length) {
      if (this.#atLineStart) this.#add(this.#prefix);
      const end = chunk.indexOf(10, start);
      if (end === -1) {
        this.#add(chunk.subarray(start));
        this.#atLineStart = false;
        break;
      }
      this.#add(chunk.subarray(start, end + 1));
      this.rows++;
      this.#atLineStart = true;
      start = end + 1;
    }
    if (this.#length >= CHUNK_BYTES) this.#emit();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#atLineStart) callback(new Error('COPY TO output ended inside a row'));
    else {
      if (this.#length > 0) this.#emit();
      callback();
    }
  }

  #add(part: Buffer): void {
    this.#parts.push(part);
    this.#length += part.length;
  }

  #emit(): void {
    this.push(this.#parts.length === 1 ? this.#parts[0] : Buffer.concat(this.#parts, this.#length));
    this.#parts = [];
    this.#length = 0;
  }
}
