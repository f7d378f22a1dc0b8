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
import type { FileSource } from './source-config.ts';
import { convertField } from './values.ts';

export interface BadRow {
  line: number;
  code: 'FILES_COLUMN_COUNT' | 'FILES_BAD_VALUE' | 'FILES_MISSING_VALUE';
  reason: string;
  /** The record's fields as parsed (the raw bytes are not kept: csv-parse's raw text is unreliable with CRLF). */
  fields: string[];
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
  info: { lines: number };
  record: string[];
}

/** The line a record starts on: csv-parse reports the line it ends on, and counts CR and LF inside quotes separately. */
export function recordStartLine(endLine: number, fields: readonly string[]): number {
  let breaks = 0;
  for (const field of fields) for (const ch of field) if (ch === '\n' || ch === '\r') breaks++;
  return endLine - breaks;
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

  constructor(
    private readonly source: FileSource,
    fileId: bigint,
    private readonly fileName: string,
    private readonly onBadRow: (row: BadRow) => void,
  ) {
    super({ writableObjectMode: true, readableObjectMode: false });
    this.fileId = fileId.toString();
    if (!source.csv.header) this.indexes = source.columns.map((_c, i) => i);
  }

  override _transform(chunk: ParsedRecord, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      if (this.indexes === null) {
        this.indexes = this.headerIndexes(chunk.record);
      } else {
        this.row(recordStartLine(chunk.info.lines, chunk.record), chunk.record);
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

  private row(line: number, fields: string[]): void {
    const indexes = this.indexes!;
    const expected = this.source.csv.header ? null : this.source.columns.length;
    if (expected !== null ? fields.length !== expected : fields.length <= Math.max(...indexes)) {
      this.onBadRow({
        line,
        code: 'FILES_COLUMN_COUNT',
        reason: `line ${line} has ${fields.length} fields, ${expected ?? `at least ${Math.max(...indexes) + 1}`} expected`,
        fields,
      });
      return;
    }
    const record: Record<string, string | boolean | null> = {};
    for (let i = 0; i < indexes.length; i++) {
      const column = this.source.columns[i]!;
      const converted = convertField(fields[indexes[i]!]!, column.type, this.source.csv);
      if (!converted.ok) {
        this.onBadRow({ line, code: 'FILES_BAD_VALUE', reason: `line ${line}, column ${column.name}: ${converted.reason}`, fields });
        return;
      }
      const required = !column.nullable || this.source.keys.includes(column.name);
      if (converted.value === null && required) {
        this.onBadRow({
          line,
          code: 'FILES_MISSING_VALUE',
          reason: `line ${line}, column ${column.name}: empty, but the column is ${column.nullable ? 'a key' : 'not nullable'}`,
          fields,
        });
        return;
      }
      record[column.name] = converted.value;
    }
    const text = copyLine([this.fileId, String(line), copyText(JSON.stringify(record))]);
    this.pending.push(text);
    this.pendingSize += text.length;
    this.rows++;
  }
}
