/**
 * JSON lines: bytes in, one `{ line, value }` (or `{ line, error }`) per non-blank line out.
 * Only the current line is buffered; a line that is not JSON is the caller's bad row, not the
 * file's end, because every line stands alone.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';

export type JsonLine = { kind: 'json'; line: number; text: string } & ({ value: unknown } | { error: string });

export class JsonLines extends Transform {
  private readonly decoder: StringDecoder;
  private rest = '';
  private line = 0;
  private first = true;

  constructor(encoding: BufferEncoding) {
    super({ writableObjectMode: false, readableObjectMode: true });
    this.decoder = new StringDecoder(encoding);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.lines(this.rest + this.decoder.write(chunk), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.lines(this.rest + this.decoder.end(), true);
    done();
  }

  private lines(text: string, end: boolean): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.emit1(text.slice(start, nl));
      start = nl + 1;
    }
    this.rest = text.slice(start);
    if (end && this.rest !== '') this.emit1(this.rest);
  }

  private emit1(raw: string): void {
    this.line++;
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.first) {
      this.first = false;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    if (text.trim() === '') return;
    try {
      this.push({ kind: 'json', line: this.line, text, value: JSON.parse(text) as unknown });
    } catch (error) {
      this.push({ kind: 'json', line: this.line, text, error: (error as Error).message });
    }
  }
}
