/**
 * COPY into raw.shop_changes. Rows are encoded and gathered into ~48 KB writes: each write()
 * into a pg-copy-streams stream is one CopyData message, and per-row writes are ~10x slower.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { COPY_CHANGES_SQL, encodeChange, type ChangeRecord } from './change.ts';

export const COPY_CHUNK_BYTES = 48 * 1024;

/** Object-mode in, text chunks out: encodes each item and emits chunks of about COPY_CHUNK_BYTES. */
export class CopyBatcher<T> extends Transform {
  #parts: string[] = [];
  #length = 0;
  count = 0;

  constructor(private readonly encode: (item: T) => string | null) {
    super({ writableObjectMode: true, readableObjectMode: false, writableHighWaterMark: 1024 });
  }

  override _transform(item: T, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const line = this.encode(item);
      if (line !== null) {
        this.#parts.push(line);
        this.#length += line.length;
        this.count++;
        if (this.#length >= COPY_CHUNK_BYTES) this.#emit();
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.#length > 0) this.#emit();
    callback();
  }

  #emit(): void {
    this.push(this.#parts.join(''));
    this.#parts = [];
    this.#length = 0;
  }
}

/** Streams `source` through the batcher into COPY on `client` (which must be in a transaction). */
export async function copyStreamInto<T>(
  client: pg.ClientBase,
  source: Readable,
  encode: (item: T) => string | null,
  copySql: string = COPY_CHANGES_SQL,
): Promise<number> {
  const batcher = new CopyBatcher<T>(encode);
  const copy = client.query(copyFrom(copySql));
  await pipeline(source, batcher, copy);
  return batcher.count;
}

export async function copyChanges(client: pg.ClientBase, changes: Iterable<ChangeRecord>): Promise<number> {
  return copyStreamInto<ChangeRecord>(client, Readable.from(changes, { objectMode: true }), encodeChange);
}
