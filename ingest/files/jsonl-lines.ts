/**
 * JSON lines: bytes in, one `{ line, value }` (or `{ line, error }`) per non-blank line out,
 * with the line's byte span so a bad line's dead letter keeps its exact bytes. Lines are split
 * on the bytes (LF in the file's encoding), not on decoded text, so the spans stay true in
 * latin1 and UTF-16 too. Only the current line is buffered; a line that is not JSON is the
 * caller's bad row, not the file's end, because every line stands alone.
 */
import { Transform, type TransformCallback } from 'node:stream';

import type { ByteSpan, FileEncoding } from './record-bytes.ts';

export type JsonLine = { kind: 'json'; line: number; text: string; span: ByteSpan } & ({ value: unknown } | { error: string });

export class JsonLines extends Transform {
  private rest: Buffer = Buffer.alloc(0);
  /** File offset of `rest`'s first byte (always a line start). */
  private restOffset = 0;
  private line = 0;
  private readonly width: number;

  constructor(private readonly encoding: FileEncoding) {
    super({ writableObjectMode: false, readableObjectMode: true });
    this.width = encoding === 'utf16le' ? 2 : 1;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.lines(this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.lines(this.rest, true);
    done();
  }

  /** Index of the next LF code unit at or after `from` (a unit boundary), or -1. */
  private nextBreak(bytes: Buffer, from: number): number {
    if (this.width === 1) return bytes.indexOf(0x0a, from);
    for (let i = bytes.indexOf(0x0a, from); i !== -1; i = bytes.indexOf(0x0a, i + 1)) {
      if ((i - from) % 2 === 0 && i + 1 < bytes.length && bytes[i + 1] === 0x00) return i;
    }
    return -1;
  }

  private lines(bytes: Buffer, end: boolean): void {
    let start = 0;
    for (let nl = this.nextBreak(bytes, 0); nl !== -1; nl = this.nextBreak(bytes, start)) {
      const after = nl + this.width;
      this.emitLine(bytes.subarray(start, nl), { start: this.restOffset + start, end: this.restOffset + after });
      start = after;
    }
    this.rest = bytes.subarray(start);
    this.restOffset += start;
    if (end && this.rest.length > 0) {
      this.emitLine(this.rest, { start: this.restOffset, end: this.restOffset + this.rest.length });
      this.rest = Buffer.alloc(0);
    }
  }

  private emitLine(bytes: Buffer, span: ByteSpan): void {
    this.line++;
    let text = bytes.toString(this.encoding);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (span.start === 0 && this.encoding !== 'latin1' && text.startsWith('\uFEFF')) text = text.slice(1);
    if (text.trim() === '') return;
    try {
      this.push({ kind: 'json', line: this.line, text, span, value: JSON.parse(text) as unknown });
    } catch (error) {
      this.push({ kind: 'json', line: this.line, text, span, error: (error as Error).message });
    }
  }
}
