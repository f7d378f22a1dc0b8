/**
 * Records to raw_files.<source> lines: a splitter (csv-split.ts, or csv-parse for the dialects
 * it does not read) turns the bytes into records, this checks each against the source's columns
 * and types and turns it into a COPY text line of the typed table (file_id, line_number, then
 * the declared columns in order), or into a dead letter naming the line and the reason. Every
 * value that passes is one its column's Postgres type holds (values.ts), so COPY never fails on
 * a row. Bounded memory: records in batches of one input chunk, COPY text out in writes of about
 * COPY_WRITE_BYTES. The per-row path allocates little: converters are compiled once per source
 * and a row's line is concatenated directly, without an intermediate object.
 */
import { Transform, type TransformCallback } from 'node:stream';

import { parse, type Parser } from 'csv-parse';

import { FatalPipelineError } from '../../lib/errors.ts';
import { COPY_NULL, copyText } from '../shared/copy-text.ts';
import { canSplitBytes, CsvSplitter, type CsvRecord } from './csv-split.ts';
import type { JsonLine } from './jsonl-lines.ts';
import { parquetConverter, type ParquetGroup } from './parquet-rows.ts';
import type { ByteSpan } from './record-bytes.ts';
import type { ColumnType, CsvOptions, FileSource } from './source-config.ts';
import { BadValue, compileConverter, type FieldConverter } from './values.ts';

/**
 * The size of one write into COPY. Each write is a CopyData message and a trip through the
 * stream machinery; a few hundred KB keeps that overhead negligible while bounding memory.
 */
export const COPY_WRITE_BYTES = 256 * 1024;

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

/** The CSV reader for a source: the byte splitter when it reads the dialect, else csv-parse. */
export function csvRecords(source: FileSource): Transform {
  return canSplitBytes(source.csv) ? new CsvSplitter(source.csv) : csvParser(source);
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
 * Transform: parsed records in (CsvRecord batches from the splitter, csv-parse records, JSON
 * lines or Parquet rows), COPY text for raw_files.<source> (file_id, line_number, columns) out. Bad
 * rows are handed to `onBadRow`; the caller decides how many it keeps.
 */
export class RowsToCopy extends Transform {
  rows = 0;
  private indexes: number[] | null = null;
  /** The highest of `indexes`: a header record needs at least one more field than this. */
  private maxIndex = -1;
  private out = '';
  /** `<file_id>\t`: every line starts with it. */
  private readonly linePrefix: string;
  /** Where the previous CSV record (or the header) ended: the next one's span starts there. */
  private recordStart = 0;
  /** Lines csv-parse counted too many so far (quotedCrlfs of the records before). */
  private lineSkew = 0;
  private readonly names: string[];
  private readonly required: boolean[];
  private readonly csvConverters: FieldConverter[];
  private readonly jsonConverters: FieldConverter[];
  private readonly fieldNames: string[];
  private readonly needed: number;
  private parquetConverters: ((value: unknown) => string | boolean | null | BadValue)[] | null = null;

  constructor(
    private readonly source: FileSource,
    fileId: bigint,
    private readonly fileName: string,
    private readonly onBadRow: (row: BadRow) => void,
  ) {
    super({ writableObjectMode: true, readableObjectMode: false });
    this.linePrefix = `${fileId.toString()}\t`;
    const columns = source.columns;
    if (!source.csv.header) this.setIndexes(columns.map((_c, i) => i));
    this.names = columns.map((c) => c.name);
    this.fieldNames = columns.map((c) => c.header ?? c.name);
    this.required = columns.map((c) => !c.nullable || source.keys.includes(c.name));
    this.csvConverters = columns.map((c) => compileConverter(c.type, source.csv));
    const jsonOptions: CsvOptions = { ...source.csv, decimal: '.', thousands: '', trueValues: ['true'], falseValues: ['false'] };
    this.jsonConverters = columns.map((c) => compileConverter(c.type, jsonOptions));
    this.needed = columns.length;
  }

  /** The reason for an empty required column; `where` names the row ("line 3", "row 7"). */
  private missing(i: number, where: string): string {
    const column = this.source.columns[i]!;
    return `${where}, column ${column.name}: empty, but the column is ${column.nullable ? 'a key' : 'not nullable'}`;
  }

  /** `fields`: the row's values as COPY text, each preceded by a tab. */
  private appendRow(line: number, fields: string): void {
    this.out += `${this.linePrefix}${line}${fields}\n`;
    this.rows++;
  }

  private jsonRow(chunk: JsonLine): void {
    const line = chunk.line;
    const bad = (code: BadRow['code'], reason: string) => this.onBadRow({ line, code, reason, span: chunk.span });
    if ('error' in chunk) return bad('FILES_BAD_JSON', `line ${line} is not JSON: ${chunk.error}`);
    const object = chunk.value;
    if (typeof object !== 'object' || object === null || Array.isArray(object))
      return bad('FILES_BAD_JSON', `line ${line} is not a JSON object`);
    let fields = '';
    for (let i = 0; i < this.needed; i++) {
      const column = this.source.columns[i]!;
      const text = jsonFieldText((object as Record<string, unknown>)[this.fieldNames[i]!], column.type);
      const value = typeof text === 'string' ? this.jsonConverters[i]!(text) : new BadValue(text.reason);
      if (value instanceof BadValue) return bad('FILES_BAD_VALUE', `line ${line}, column ${column.name}: ${value.reason}`);
      if (value === null && this.required[i]) return bad('FILES_MISSING_VALUE', this.missing(i, `line ${line}`));
      fields += copyField(value);
    }
    this.appendRow(line, fields);
  }

  private parquetGroup(group: ParquetGroup): void {
    const converters = (this.parquetConverters ??= this.source.columns.map((c, i) => parquetConverter(c.type, this.jsonConverters[i]!)));
    const { columns } = group;
    rows: for (let r = 0; r < group.rows; r++) {
      const line = group.firstLine + r;
      let fields = '';
      for (let i = 0; i < this.needed; i++) {
        const value = converters[i]!(columns[i]![r]);
        if (value instanceof BadValue) {
          this.parquetBadRow(group, r, 'FILES_BAD_VALUE', `row ${line}, column ${this.names[i]}: ${value.reason}`);
          continue rows;
        }
        if (value === null && this.required[i]) {
          this.parquetBadRow(group, r, 'FILES_MISSING_VALUE', this.missing(i, `row ${line}`));
          continue rows;
        }
        fields += copyField(value);
      }
      this.appendRow(line, fields);
      if (this.out.length >= COPY_WRITE_BYTES) this.flushPending();
    }
  }

  /** A Parquet row has no bytes of its own: its dead letter's payload is its values as JSON. */
  private parquetBadRow(group: ParquetGroup, r: number, code: BadRow['code'], reason: string): void {
    const values = Object.fromEntries(group.names.map((name, c) => [name, group.columns[c]![r]]));
    const payload = Buffer.from(
      JSON.stringify(values, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      'utf8',
    );
    this.onBadRow({ line: group.firstLine + r, code, reason, span: null, payload });
  }

  override _transform(
    chunk: CsvRecord[] | ParsedRecord | JsonLine | ParquetGroup,
    _encoding: BufferEncoding,
    done: TransformCallback,
  ): void {
    try {
      if (Array.isArray(chunk)) {
        for (const record of chunk) {
          const span = { start: this.recordStart, end: record.end };
          this.recordStart = record.end;
          if (this.indexes === null) this.setIndexes(this.headerIndexes(record.fields));
          else this.row(record.line, record.fields, span);
        }
      } else if ('kind' in chunk && chunk.kind === 'parquet') {
        this.parquetGroup(chunk);
      } else if ('kind' in chunk) {
        this.jsonRow(chunk);
      } else {
        const span = { start: this.recordStart, end: chunk.info.bytes };
        this.recordStart = chunk.info.bytes;
        const line = recordStartLine(chunk.info.lines, chunk.record) - this.lineSkew;
        this.lineSkew += quotedCrlfs(chunk.record);
        if (this.indexes === null) this.setIndexes(this.headerIndexes(chunk.record));
        else this.row(line, chunk.record, span);
      }
      if (this.out.length >= COPY_WRITE_BYTES) this.flushPending();
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
    if (this.out.length === 0) return;
    this.push(this.out);
    this.out = '';
  }

  private setIndexes(indexes: number[]): void {
    this.indexes = indexes;
    this.maxIndex = Math.max(...indexes);
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
    const expected = this.source.csv.header ? null : this.needed;
    if (expected !== null ? fields.length !== expected : fields.length <= this.maxIndex) {
      this.onBadRow({
        line,
        code: 'FILES_COLUMN_COUNT',
        reason: `line ${line} has ${fields.length} fields, ${expected ?? `at least ${this.maxIndex + 1}`} expected`,
        span,
      });
      return;
    }
    let text = '';
    for (let i = 0; i < this.needed; i++) {
      const value = this.csvConverters[i]!(fields[indexes[i]!]!);
      if (value instanceof BadValue) {
        this.onBadRow({ line, code: 'FILES_BAD_VALUE', reason: `line ${line}, column ${this.names[i]}: ${value.reason}`, span });
        return;
      }
      if (value === null && this.required[i]) {
        this.onBadRow({ line, code: 'FILES_MISSING_VALUE', reason: this.missing(i, `line ${line}`), span });
        return;
      }
      text += copyField(value);
    }
    this.appendRow(line, text);
  }
}

/** A converted value as one COPY text field, with the tab before it. */
function copyField(value: string | boolean | null): string {
  if (typeof value === 'string') return `\t${copyText(value)}`;
  return value === null ? `\t${COPY_NULL}` : value ? '\ttrue' : '\tfalse';
}
