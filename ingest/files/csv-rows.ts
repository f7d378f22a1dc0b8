/**
 * CSV records to raw.file_rows lines: csv-parse (streaming, csv-parse/lib) splits the bytes
 * into records, this checks each against the source's columns and types and turns it into a
 * COPY line, or into a dead letter naming the line and the reason. Bounded memory: one record
 * at a time, COPY text out in chunks of about COPY_CHUNK_BYTES.
 */
import { Transform, type TransformCallback } from 'node:stream';

import { parse, type Parser } from 'csv-parse';

import { FatalPipelineError } from '../../lib/errors.ts';
import { COPY_CHUNK_BYTES } from '../shared/copy-stream.ts';
import { copyLine, copyText } from '../shared/copy-text.ts';
import type { JsonLine } from './jsonl-lines.ts';
import { parquetValue, type ParquetRow } from './parquet-rows.ts';
import type { ByteSpan } from './record-bytes.ts';
import type { ColumnType, CsvOptions, FileSource } from './source-config.ts';
import { convertField } from './values.ts';

export interface BadRow {
  line: number;
  code: 'FILES_COLUMN_COUNT' | 'FILES_BAD_VALUE' | 'FILES_MISSING_VALUE' | 'FILES_BAD_JSON';
  reason: string;
  /** Where the record is in the file: the dead letter's payload is these bytes, trimmed (record-bytes.ts). */
  span: ByteSpan | null;
  /** The payload when a record has no bytes of its own (a Parquet row: its values as JSON). */
  payload?: Buffer;
}

/** JSON values to the text convertField reads: JSON has its own numbers and booleans. */
function jsonFieldText(value: unknown, type: ColumnType): string | { reason: string } {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && (type === 'integer' || type === 'numeric')) return String(value);
  if (typeof value === 'boolean' && type === 'boolean') return String(value);
  return { reason: `${JSON.stringify(value).slice(0, 80)} is a JSON ${Array.isArray(value) ? 'array' : typeof value}, not a ${type}` };
}

export function csvParser(source: FileSource): Parser {
  const o = source.csv;
  return parse({
    bom: true,
    encoding: o.encoding,
    delimiter: o.delimiter,
    quote: o.quote,
    escape: o.escape,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
  });
}

interface ParsedRecord {
  /** `bytes`: the file offset just past the record and its terminator. */
  info: { lines: number; bytes: number };
  record: string[];
}

/** The line a record starts on: csv-parse reports the line it ends on, and counts CR and LF inside quotes separately. */
export function recordStartLine(endLine: number, fields: readonly string[]): number {
  let breaks = 0;
  for (const field of fields) for (const ch of field) if (ch === '\n' || ch === '\r') breaks++;
  return endLine - breaks;
}

/** CRLF pairs inside a record's fields: csv-parse counts each as two lines, editors as one. */
export function quotedCrlfs(fields: readonly string[]): number {
  let pairs = 0;
  for (const field of fields) for (let i = field.indexOf('\r\n'); i !== -1; i = field.indexOf('\r\n', i + 2)) pairs++;
  return pairs;
}

/**
 * Transform: parsed records in, COPY text chunks for raw.file_rows (file_id, line_number, record)
 * out. Bad rows are handed to `onBadRow`; the caller decides how many it keeps.
 */
export class RowsToCopy extends Transform {
  rows = 0;
  private indexes: number[] | null = null;
  private pending: string[] = [];
  private pendingSize = 0;
  private readonly fileId: string;
  /** Where the previous CSV record (or the header) ended: the next one's span starts there. */
  private recordStart = 0;
  /** Lines csv-parse counted too many so far (quotedCrlfs of the records before). */
  private lineSkew = 0;

  constructor(
    private readonly source: FileSource,
    fileId: bigint,
    private readonly fileName: string,
    private readonly onBadRow: (row: BadRow) => void,
  ) {
    super({ writableObjectMode: true, readableObjectMode: false });
    this.fileId = fileId.toString();
    if (!source.csv.header) this.indexes = source.columns.map((_c, i) => i);
    this.jsonOptions = { ...source.csv, decimal: '.', thousands: '', trueValues: ['true'], falseValues: ['false'] };
  }

  private readonly jsonOptions: CsvOptions;

  private jsonRow(chunk: JsonLine): void {
    const line = chunk.line;
    const bad = (code: BadRow['code'], reason: string) => this.onBadRow({ line, code, reason, span: chunk.span });
    if ('error' in chunk) return bad('FILES_BAD_JSON', `line ${line} is not JSON: ${chunk.error}`);
    const object = chunk.value;
    if (typeof object !== 'object' || object === null || Array.isArray(object))
      return bad('FILES_BAD_JSON', `line ${line} is not a JSON object`);
    const record: Record<string, string | boolean | null> = {};
    for (const column of this.source.columns) {
      const text = jsonFieldText((object as Record<string, unknown>)[column.header ?? column.name], column.type);
      const converted =
        typeof text === 'string' ? convertField(text, column.type, this.jsonOptions) : { ok: false as const, reason: text.reason };
      if (!converted.ok) return bad('FILES_BAD_VALUE', `line ${line}, column ${column.name}: ${converted.reason}`);
      if (converted.value === null && (!column.nullable || this.source.keys.includes(column.name)))
        return bad(
          'FILES_MISSING_VALUE',
          `line ${line}, column ${column.name}: empty, but the column is ${column.nullable ? 'a key' : 'not nullable'}`,
        );
      record[column.name] = converted.value;
    }
    this.append(line, record);
  }

  private parquetRow(chunk: ParquetRow): void {
    const line = chunk.line;
    const payload = () =>
      Buffer.from(
        JSON.stringify(chunk.values, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
        'utf8',
      );
    const bad = (code: BadRow['code'], reason: string) => this.onBadRow({ line, code, reason, span: null, payload: payload() });
    const record: Record<string, string | boolean | null> = {};
    for (const column of this.source.columns) {
      const read = parquetValue(chunk.values[column.header ?? column.name], column.type);
      const converted =
        'reason' in read
          ? { ok: false as const, reason: read.reason }
          : 'text' in read
            ? convertField(read.text, column.type, this.jsonOptions)
            : { ok: true as const, value: read.value };
      if (!converted.ok) return bad('FILES_BAD_VALUE', `row ${line}, column ${column.name}: ${converted.reason}`);
      if (converted.value === null && (!column.nullable || this.source.keys.includes(column.name)))
        return bad(
          'FILES_MISSING_VALUE',
          `row ${line}, column ${column.name}: empty, but the column is ${column.nullable ? 'a key' : 'not nullable'}`,
        );
      record[column.name] = converted.value;
    }
    this.append(line, record);
  }

  private append(line: number, record: Record<string, string | boolean | null>): void {
    const text = copyLine([this.fileId, String(line), copyText(JSON.stringify(record))]);
    this.pending.push(text);
    this.pendingSize += text.length;
    this.rows++;
  }

  override _transform(chunk: ParsedRecord | JsonLine | ParquetRow, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      if ('kind' in chunk && chunk.kind === 'parquet') {
        this.parquetRow(chunk);
      } else if ('kind' in chunk) {
        this.jsonRow(chunk);
      } else {
        const span = { start: this.recordStart, end: chunk.info.bytes };
        this.recordStart = chunk.info.bytes;
        const line = recordStartLine(chunk.info.lines, chunk.record) - this.lineSkew;
        this.lineSkew += quotedCrlfs(chunk.record);
        if (this.indexes === null) this.indexes = this.headerIndexes(chunk.record);
        else this.row(line, chunk.record, span);
      }
      if (this.pendingSize >= COPY_CHUNK_BYTES) this.flushPending();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    this.flushPending();
    done();
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    this.push(this.pending.join(''));
    this.pending = [];
    this.pendingSize = 0;
  }

  private headerIndexes(header: string[]): number[] {
    const trimmed = header.map((h) => h.trim());
    return this.source.columns.map((column) => {
      const wanted = column.header ?? column.name;
      const index = trimmed.indexOf(wanted);
      if (index === -1)
        throw new FatalPipelineError(
          'FILES_HEADER_MISMATCH',
          `${this.fileName}: the header has no column "${wanted}" (source ${this.source.name}; header: ${trimmed.join(', ')})`,
        );
      return index;
    });
  }

  private row(line: number, fields: string[], span: ByteSpan): void {
    const indexes = this.indexes!;
    const expected = this.source.csv.header ? null : this.source.columns.length;
    if (expected !== null ? fields.length !== expected : fields.length <= Math.max(...indexes)) {
      this.onBadRow({
        line,
        code: 'FILES_COLUMN_COUNT',
        reason: `line ${line} has ${fields.length} fields, ${expected ?? `at least ${Math.max(...indexes) + 1}`} expected`,
        span,
      });
      return;
    }
    const record: Record<string, string | boolean | null> = {};
    for (let i = 0; i < indexes.length; i++) {
      const column = this.source.columns[i]!;
      const converted = convertField(fields[indexes[i]!]!, column.type, this.source.csv);
      if (!converted.ok) {
        this.onBadRow({
          line,
          code: 'FILES_BAD_VALUE',
          reason: `line ${line}, column ${column.name}: ${converted.reason}`,
          span,
        });
        return;
      }
      const required = !column.nullable || this.source.keys.includes(column.name);
      if (converted.value === null && required) {
        this.onBadRow({
          line,
          code: 'FILES_MISSING_VALUE',
          reason: `line ${line}, column ${column.name}: empty, but the column is ${column.nullable ? 'a key' : 'not nullable'}`,
          span,
        });
        return;
      }
      record[column.name] = converted.value;
    }
    this.append(line, record);
  }
}
