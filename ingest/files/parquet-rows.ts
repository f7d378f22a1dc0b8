/**
 * Parquet files as row groups for RowsToCopy: hyparquet (pure JavaScript, no native or downloaded
 * binary) reads one row group at a time, so memory is bounded by the largest row group, not the
 * file. Only the declared columns are decoded, and they are handed on as columns (one array
 * each), not as an object per row: building those objects cost more than converting the values.
 * Values arrive typed (numbers, bigints, booleans,
 * Dates, strings) and leave canonical, as CSV values do: DECIMAL(p, s) columns are formatted
 * with their scale, which is exact up to 15 significant digits (hyparquet decodes decimals to
 * doubles), so a wider DECIMAL column is refused rather than rounded.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, type SchemaElement } from 'hyparquet';

import { coerceError, FatalPipelineError } from '../../lib/errors.ts';
import type { FileSource } from './source-config.ts';
import { BadValue, type FieldConverter } from './values.ts';

/**
 * One row group: `columns[i]` holds the values of the source's i-th declared column (read from
 * the file's column `names[i]`), `rows` of them; its first row is the file's row `firstLine`
 * (1-based: the dead letter's "line").
 */
export interface ParquetGroup {
  kind: 'parquet';
  firstLine: number;
  rows: number;
  names: string[];
  columns: unknown[][];
}

/** The widest DECIMAL a double holds exactly. */
const EXACT_DIGITS = 15;

function refuse(file: string, source: FileSource, reason: string, cause?: unknown): FatalPipelineError {
  return new FatalPipelineError('FILES_MALFORMED_PARQUET', `${file}: ${reason} (source ${source.name})`, cause);
}

function decimalScale(element: SchemaElement): { precision: number; scale: number } | null {
  const logical = element.logical_type as { type?: string; precision?: number; scale?: number } | undefined;
  if (logical?.type === 'DECIMAL') return { precision: logical.precision ?? 38, scale: logical.scale ?? 0 };
  if (element.converted_type === 'DECIMAL') return { precision: element.precision ?? 38, scale: element.scale ?? 0 };
  return null;
}

/** One row group's columns, each as one array (hyparquet hands them over in pages). */
async function readGroup(
  options: Omit<Parameters<typeof parquetRead>[0], 'onChunk' | 'onComplete'>,
  wanted: string[],
): Promise<unknown[][]> {
  const chunks = new Map<string, { rowStart: number; data: ArrayLike<unknown> }[]>();
  await parquetRead({
    ...options,
    columns: [...new Set(wanted)],
    onChunk: ({ columnName, columnData, rowStart }) => {
      const list = chunks.get(columnName) ?? [];
      list.push({ rowStart, data: columnData });
      chunks.set(columnName, list);
    },
  });
  return wanted.map((name) => {
    const list = (chunks.get(name) ?? []).sort((a, b) => a.rowStart - b.rowStart);
    if (list.length === 1 && Array.isArray(list[0]!.data)) return list[0]!.data;
    const column: unknown[] = [];
    for (const { data } of list) for (let i = 0; i < data.length; i++) column.push(data[i]);
    return column;
  });
}

export async function* parquetGroups(path: string, file: string, source: FileSource): AsyncGenerator<ParquetGroup> {
  let buffer;
  let metadata;
  try {
    buffer = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw refuse(file, source, `not a Parquet file (${coerceError(error).message})`, error);
  }
  // Top-level columns only: schema[0] is the root, its direct children are the columns.
  const top = new Map<string, SchemaElement>();
  let index = 1;
  for (let child = 0; child < (metadata.schema[0]?.num_children ?? 0); child++) {
    const element = metadata.schema[index]!;
    top.set(element.name, element);
    // Skip a nested column's subtree (its elements follow it, depth first).
    let pending = element.num_children ?? 0;
    index++;
    while (pending > 0) {
      pending += (metadata.schema[index]!.num_children ?? 0) - 1;
      index++;
    }
  }
  const wanted = source.columns.map((c) => c.header ?? c.name);
  const decimals = new Map<string, number>();
  for (const name of wanted) {
    const element = top.get(name);
    if (!element)
      throw new FatalPipelineError(
        'FILES_HEADER_MISMATCH',
        `${file}: the Parquet schema has no column "${name}" (source ${source.name}; columns: ${[...top.keys()].join(', ')})`,
      );
    if ((element.num_children ?? 0) > 0) throw refuse(file, source, `column "${name}" is nested; only flat columns are read`);
    const decimal = decimalScale(element);
    if (decimal) {
      if (decimal.precision > EXACT_DIGITS)
        throw refuse(
          file,
          source,
          `column "${name}" is DECIMAL(${decimal.precision}, ${decimal.scale}); at most ${EXACT_DIGITS} digits are read exactly`,
        );
      decimals.set(name, decimal.scale);
    }
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let columns: unknown[][];
    try {
      columns = await readGroup({ file: buffer, metadata, rowStart, rowEnd }, wanted);
    } catch (error) {
      throw refuse(file, source, `rows ${rowStart + 1}-${rowEnd} cannot be read (${coerceError(error).message})`, error);
    }
    const rows = rowEnd - rowStart;
    for (let c = 0; c < columns.length; c++) {
      if (columns[c]!.length !== rows)
        throw refuse(file, source, `column "${wanted[c]}" has ${columns[c]!.length} values in rows ${rowStart + 1}-${rowEnd}`);
      const scale = decimals.get(wanted[c]!);
      if (scale === undefined) continue;
      const values = columns[c]!;
      for (let i = 0; i < rows; i++) {
        const v = values[i];
        if (typeof v === 'number') values[i] = v.toFixed(scale);
      }
    }
    yield { kind: 'parquet', firstLine: rowStart + 1, rows, names: wanted, columns };
    rowStart = rowEnd;
  }
}

/**
 * A column's Parquet values to the values raw_files.<source> keeps: typed values are canonical
 * already; strings (and numbers, as their text) go through the column's field converter, as
 * CSV fields do. The common typed cases (a bigint or safe integer for an integer column, a Date
 * for a date column) take a path that allocates nothing but the text: profiling the 1M-row
 * landing showed the general path's per-value result objects as the largest client-side cost.
 */
export function parquetConverter(
  type: FileSource['columns'][number]['type'],
  convert: FieldConverter,
): (value: unknown) => string | boolean | null | BadValue {
  const general = (value: unknown) => {
    if (typeof value === 'string') return convert(value);
    const read = parquetValue(value, type);
    return 'reason' in read ? new BadValue(read.reason) : 'text' in read ? convert(read.text) : read.value;
  };
  if (type === 'integer')
    return (value) =>
      typeof value === 'bigint' && value >= BIGINT_MIN && value <= BIGINT_MAX
        ? value.toString()
        : typeof value === 'number' && Number.isSafeInteger(value)
          ? String(value)
          : general(value);
  if (type === 'date')
    return (value) => {
      if (value instanceof Date) {
        const year = value.getUTCFullYear();
        if (year >= 1 && year <= 9999) return value.toISOString().slice(0, 10);
      }
      return general(value);
    };
  return general;
}

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

/** A Parquet value as the text convertField reads, or a canonical value it does not need to. */
export function parquetValue(
  value: unknown,
  type: FileSource['columns'][number]['type'],
): { text: string } | { value: string | boolean | null } | { reason: string } {
  if (value === null || value === undefined) return { value: null };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return { reason: 'an invalid date' };
    // Years the canonical YYYY-MM-DD text (and a Postgres date) can hold.
    const year = value.getUTCFullYear();
    if (year < 1 || year > 9999) return { reason: `${value.toISOString()} is outside the years 0001 to 9999` };
    const iso = value.toISOString();
    if (type === 'date') return { value: iso.slice(0, 10) };
    if (type === 'timestamp') return { value: iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23) };
    return { reason: `a date/time, not a ${type}` };
  }
  if (typeof value === 'bigint')
    return type === 'integer' || type === 'numeric' ? { text: value.toString() } : { reason: `a number, not a ${type}` };
  if (typeof value === 'number') {
    if (type === 'integer') return Number.isSafeInteger(value) ? { text: String(value) } : { reason: `${value} is not a whole number` };
    if (type === 'numeric') return Number.isFinite(value) ? { text: String(value) } : { reason: `${value} is not a finite number` };
    return { reason: `a number, not a ${type}` };
  }
  if (typeof value === 'boolean') return type === 'boolean' ? { value } : { reason: `a boolean, not a ${type}` };
  if (typeof value === 'string') return { text: value };
  return { reason: `a ${Array.isArray(value) ? 'list' : typeof value}, not a ${type}` };
}
