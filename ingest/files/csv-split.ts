/**
 * CSV bytes to records, for files in an ASCII-compatible encoding (utf8, latin1) whose
 * delimiter, quote and escape are ASCII. It works on the bytes, not on decoded text: in those
 * encodings an ASCII byte is always that character (UTF-8 continuation bytes are >= 0x80), so
 * record boundaries and byte offsets come out of one pass with no re-encoding, and each field is
 * decoded once. Profiling showed the general parser (csv-parse with per-record `info`, which
 * dead-letter payloads need) spending more time than the COPY it feeds; this is the same
 * dialect at a fraction of the cost. Other files (utf16le, a non-ASCII delimiter) keep csv-parse.
 *
 * The dialect, as csv-parse reads it with the options csvParser() sets: records end at LF, CRLF
 * or CR; empty lines are skipped; a byte-order mark at the start is skipped; a field that starts
 * with the quote runs to the closing quote and may hold delimiters and line breaks; inside it
 * the escape followed by the quote (or by the escape) stands for that character. A quote inside
 * an unquoted field, a closing quote followed by anything but a delimiter or a line end, and a
 * quote never closed make the file malformed: after that no reader knows where records begin.
 */
import { Transform, type TransformCallback } from 'node:stream';

import type { CsvOptions } from './source-config.ts';

export interface CsvRecord {
  /** The line (1-based) the record starts on: LF, CRLF and CR each end one line, inside quotes too. */
  line: number;
  /** The byte offset in the file just past the record and its line terminator. */
  end: number;
  fields: string[];
}

const LF = 0x0a;
const CR = 0x0d;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Whether splitCsv can read files of this dialect (else csv-parse does). */
export function canSplitBytes(options: Pick<CsvOptions, 'encoding' | 'delimiter' | 'quote' | 'escape'>): boolean {
  const ascii = (c: string) => c.length === 1 && c.charCodeAt(0) < 0x80 && c !== '\n' && c !== '\r';
  return (
    (options.encoding === 'utf8' || options.encoding === 'latin1') &&
    ascii(options.delimiter) &&
    ascii(options.quote) &&
    ascii(options.escape)
  );
}

/** A CSV syntax error, with csv-parse's code for the same problem. */
export class CsvSyntaxError extends Error {
  constructor(
    readonly code: 'CSV_QUOTE_NOT_CLOSED' | 'CSV_INVALID_CLOSING_QUOTE' | 'INVALID_OPENING_QUOTE',
    message: string,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

/**
 * Transform: file bytes in, arrays of CsvRecord out (one array per input chunk, so the stream
 * machinery runs per chunk, not per record). The bytes of an unfinished record are carried to
 * the next chunk.
 */
export class CsvSplitter extends Transform {
  private readonly delimiter: number;
  private readonly quote: number;
  private readonly escape: number;
  private readonly encoding: 'utf8' | 'latin1';
  /** Bytes of the record in progress (from a previous chunk) and where they start in the file. */
  private carry: Buffer | null = null;
  private carryOffset = 0;
  /** Bytes consumed before `carry` (or before the next chunk when there is no carry). */
  private offset = 0;
  private line = 1;
  private atStart = true;

  constructor(options: Pick<CsvOptions, 'encoding' | 'delimiter' | 'quote' | 'escape'>) {
    super({ readableObjectMode: true });
    if (!canSplitBytes(options)) throw new Error(`the byte splitter cannot read ${options.encoding} with these characters`);
    this.delimiter = options.delimiter.charCodeAt(0);
    this.quote = options.quote.charCodeAt(0);
    this.escape = options.escape.charCodeAt(0);
    this.encoding = options.encoding as 'utf8' | 'latin1';
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      let bytes = chunk;
      let base = this.offset;
      if (this.carry !== null) {
        bytes = Buffer.concat([this.carry, chunk]);
        base = this.carryOffset;
        this.carry = null;
      }
      this.offset = base + bytes.length;
      const records = this.split(bytes, base, false);
      if (records.length > 0) this.push(records);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.carry !== null) {
        const bytes = this.carry;
        this.carry = null;
        const records = this.split(bytes, this.carryOffset, true);
        if (records.length > 0) this.push(records);
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  /**
   * Records wholly inside `bytes` (which start at file offset `base`). Without `final`, an
   * unfinished last record is kept as the carry; with it, the end of the bytes ends the record.
   */
  private split(bytes: Buffer, base: number, final: boolean): CsvRecord[] {
    const records: CsvRecord[] = [];
    const n = bytes.length;
    let i = 0;
    if (this.atStart) {
      if (n < UTF8_BOM.length && !final && UTF8_BOM.slice(0, n).every((b, k) => bytes[k] === b)) {
        this.keep(bytes, 0, base);
        return records;
      }
      this.atStart = false;
      if (this.encoding === 'utf8' && bytes[0] === UTF8_BOM[0] && bytes[1] === UTF8_BOM[1] && bytes[2] === UTF8_BOM[2]) i = 3;
    }
    const { delimiter, quote, escape } = this;
    recordLoop: while (i < n) {
      const recordStart = i;
      // Empty lines between records are skipped (they still count as lines).
      let c = bytes[i]!;
      if (c === LF || c === CR) {
        if (c === CR && i + 1 >= n && !final) {
          this.keep(bytes, i, base); // a CR whose LF may come next
          break;
        }
        i += c === CR && bytes[i + 1] === LF ? 2 : 1;
        this.line++;
        continue;
      }
      const line = this.line;
      let lines = 0;
      const fields: string[] = [];
      for (;;) {
        // One field starting at i.
        if (i < n && bytes[i] === quote) {
          let parts: string | null = null;
          let from = i + 1;
          let j = from;
          for (;;) {
            if (j >= n) {
              if (!final) {
                this.keep(bytes, recordStart, base);
                break recordLoop;
              }
              throw new CsvSyntaxError('CSV_QUOTE_NOT_CLOSED', `Quote Not Closed: the quote opened on line ${line} is never closed`);
            }
            c = bytes[j]!;
            if (c === escape && escape !== quote && j + 1 < n && (bytes[j + 1] === quote || bytes[j + 1] === escape)) {
              parts = (parts ?? '') + bytes.toString(this.encoding, from, j);
              from = j + 1;
              j += 2;
              continue;
            }
            if (c === escape && escape !== quote && j + 1 >= n && !final) {
              this.keep(bytes, recordStart, base);
              break recordLoop;
            }
            if (c === quote) {
              if (escape === quote && j + 1 < n && bytes[j + 1] === quote) {
                parts = (parts ?? '') + bytes.toString(this.encoding, from, j + 1);
                from = j + 2;
                j += 2;
                continue;
              }
              if (escape === quote && j + 1 >= n && !final) {
                this.keep(bytes, recordStart, base);
                break recordLoop;
              }
              break;
            }
            if (c === LF) lines++;
            else if (c === CR && bytes[j + 1] !== LF) lines++;
            j++;
          }
          const text = bytes.toString(this.encoding, from, j);
          fields.push(parts === null ? text : parts + text);
          i = j + 1;
          if (i < n) {
            c = bytes[i]!;
            if (c !== delimiter && c !== LF && c !== CR)
              throw new CsvSyntaxError(
                'CSV_INVALID_CLOSING_QUOTE',
                `Invalid Closing Quote: a quoted field on line ${line + lines} is followed by a character other than the delimiter or a line end`,
              );
          }
        } else {
          let j = i;
          while (j < n) {
            c = bytes[j]!;
            if (c === delimiter || c === LF || c === CR) break;
            if (c === quote)
              throw new CsvSyntaxError(
                'INVALID_OPENING_QUOTE',
                `Invalid Opening Quote: a quote inside an unquoted field on line ${line + lines}`,
              );
            j++;
          }
          if (j >= n && !final) {
            this.keep(bytes, recordStart, base);
            break recordLoop;
          }
          fields.push(bytes.toString(this.encoding, i, j));
          i = j;
        }
        // After a field: a delimiter (another field follows), a line end, or the end of the bytes.
        if (i >= n) {
          if (!final) {
            this.keep(bytes, recordStart, base);
            break recordLoop;
          }
          records.push({ line, end: base + i, fields });
          this.line += lines;
          break;
        }
        c = bytes[i]!;
        if (c === delimiter) {
          i++;
          continue;
        }
        if (c === CR && i + 1 >= n && !final) {
          this.keep(bytes, recordStart, base);
          break recordLoop;
        }
        i += c === CR && bytes[i + 1] === LF ? 2 : 1;
        records.push({ line, end: base + i, fields });
        this.line += lines + 1;
        break;
      }
    }
    return records;
  }

  private keep(bytes: Buffer, from: number, base: number): void {
    // A copy, so the chunk it came from can be collected.
    this.carry = Buffer.from(bytes.subarray(from));
    this.carryOffset = base + from;
  }
}
