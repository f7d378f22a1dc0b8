/**
 * The exact bytes of a bad record, for its dead letter. Parsers say where a record ends (a byte
 * offset in the file); the span from the previous record's end holds the blank lines skipped
 * before it and its own line terminator. Trimming those, in the file's encoding, leaves the
 * record as the file has it: a repair can be pasted back into the file byte for byte. A
 * re-serialised parse (the fields as JSON) would lose quoting, the original encoding and what
 * the parser could not make sense of, which is usually the point of looking.
 */
import type { FileHandle } from 'node:fs/promises';

import type { ENCODINGS } from './source-config.ts';

export type FileEncoding = (typeof ENCODINGS)[number];

/** A record's place in its file: [start, end) in bytes, terminator and skipped blank lines included. */
export interface ByteSpan {
  start: number;
  end: number;
}

const BOMS: Record<FileEncoding, Buffer | null> = {
  utf8: Buffer.from([0xef, 0xbb, 0xbf]),
  utf16le: Buffer.from([0xff, 0xfe]),
  latin1: null,
};

const unitWidth = (encoding: FileEncoding) => (encoding === 'utf16le' ? 2 : 1);

/** The code unit at `i` when it is CR or LF (in any of the encodings), else -1. */
function breakUnit(bytes: Buffer, i: number, width: number): number {
  const b = bytes[i];
  if (b !== 0x0a && b !== 0x0d) return -1;
  if (width === 2 && bytes[i + 1] !== 0x00) return -1;
  return b;
}

/**
 * `bytes` (a span as read from the file) without a leading byte-order mark (`atFileStart`),
 * the blank lines before the record and one record terminator (CRLF, LF or CR) after it.
 */
export function trimRecord(bytes: Buffer, encoding: FileEncoding, atFileStart: boolean): Buffer {
  const width = unitWidth(encoding);
  let start = 0;
  const bom = BOMS[encoding];
  if (atFileStart && bom !== null && bytes.subarray(0, bom.length).equals(bom)) start = bom.length;
  while (start + width <= bytes.length && breakUnit(bytes, start, width) !== -1) start += width;
  let end = bytes.length;
  if (end - width >= start && breakUnit(bytes, end - width, width) === 0x0a) {
    end -= width;
    if (end - width >= start && breakUnit(bytes, end - width, width) === 0x0d) end -= width;
  } else if (end - width >= start && breakUnit(bytes, end - width, width) === 0x0d) {
    end -= width;
  }
  return bytes.subarray(start, end);
}

/** Reads each span from the open file (the same handle the rows were streamed from) and trims it. */
export async function readRecords(file: FileHandle, spans: readonly ByteSpan[], encoding: FileEncoding): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const span of spans) {
    const buffer = Buffer.alloc(span.end - span.start);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await file.read(buffer, read, buffer.length - read, span.start + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    out.push(trimRecord(buffer.subarray(0, read), encoding, span.start === 0));
  }
  return out;
}
