/**
 * Streams COPY lines into Postgres in 16-64 KB writes: each write() becomes a CopyData
 * message, so per-row writes are an order of magnitude slower than batched ones.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export const COPY_CHUNK_BYTES = 64 * 1024;

/** Joins lines into strings of about `chunkBytes` (by UTF-16 length, close enough for sizing). */
export function* chunkLines(lines: Iterable<string>, chunkBytes = COPY_CHUNK_BYTES): Generator<string> {
  let parts: string[] = [];
  let size = 0;
  for (const line of lines) {
    parts.push(line);
    size += line.length;
    if (size >= chunkBytes) {
      yield parts.join('');
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield parts.join('');
}

/**
 * Runs `COPY <target> FROM STDIN` on a checked-out client with the given lines.
 * `target` is trusted SQL (table and column list), built by the caller with ident().
 * Returns the row count Postgres reports.
 */
export async function copyLines(client: pg.PoolClient | pg.Client, target: string, lines: Iterable<string>): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
  await pipeline(Readable.from(chunkLines(lines), { objectMode: false }), stream);
  return stream.rowCount ?? 0;
}
