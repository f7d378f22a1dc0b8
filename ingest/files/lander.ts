/**
 * Lands one file exactly once: its rows (into raw_files.<source>, typed-table.ts), its bad rows
 * and its manifest row (name, size, SHA-256, version) in one transaction. The manifest's unique (source, name, hash) makes a
 * second landing of the same bytes impossible; a file whose bytes changed lands again as the
 * next version. The file is read twice, streamed both times: once to hash it (most runs find
 * every file already landed and stop there), once to parse and COPY it, hashing again so a
 * file rewritten in between is refused rather than landed under the wrong hash.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { CsvError } from 'csv-parse';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { FatalPipelineError, ShopflowError } from '../../lib/errors.ts';
import { DEAD_LETTER_SOURCE } from '../../lib/warehouse/dead-letter-sources.ts';
import { storable } from '../kafka/warehouse.ts';
import { copyLines } from '../shared/copy-stream.ts';
import { copyBytea, copyLine, copyText } from '../shared/copy-text.ts';
import { csvRecords, RowsToCopy, type BadRow } from './csv-rows.ts';
import { CsvSyntaxError } from './csv-split.ts';
import { JsonLines } from './jsonl-lines.ts';
import { parquetGroups } from './parquet-rows.ts';
import { readRecords } from './record-bytes.ts';
import type { FileSource } from './source-config.ts';
import { ensureTypedTable } from './typed-table.ts';

export interface FileDigest {
  sha256: string;
  size: number;
}

export type LandOutcome =
  | { outcome: 'landed'; file: string; fileId: bigint; version: number; digest: FileDigest; rows: number; badRows: number }
  | { outcome: 'unchanged'; file: string; version: number };

export async function digestFile(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Passes bytes through and hashes them on the way. */
class HashTap extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.feed(chunk);
    done(null, chunk);
  }
  /** Hashes bytes read some other way (a Parquet file, read by row group). */
  feed(chunk: Buffer): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }
  digest(): FileDigest {
    return { sha256: this.hash.digest('hex'), size: this.size };
  }
}

/**
 * The version under which these bytes landed in the typed layout, if they did. Bytes that landed
 * only in the jsonb layout (raw.file_rows, before migration 0240) count as not landed: the first
 * run after the upgrade lands them again into raw_files as the file's next version.
 */
async function landedVersion(client: pg.ClientBase, source: string, file: string, sha256: string): Promise<number | null> {
  const found = await client.query<{ version: number }>(
    `select version from raw.file_manifest
      where source_name = $1 and file_name = $2 and content_sha256 = $3 and layout = 'typed'`,
    [source, file, sha256],
  );
  return found.rows[0]?.version ?? null;
}
const DEAD_LETTER_TARGET = 'raw.dead_letters (source, source_position, payload, payload_bytes, error_code, reason, details)';

function deadLetterLine(source: FileSource, file: string, version: number, bad: BadRow, payload: Buffer): string {
  return copyLine([
    DEAD_LETTER_SOURCE.files,
    copyText(storable(`${source.name}/${file}:${bad.line}`)),
    copyBytea(payload),
    String(payload.length),
    bad.code,
    copyText(storable(`${file}: ${bad.reason}`)),
    copyText(storable(JSON.stringify({ source: source.name, file, version, line: bad.line }))),
  ]);
}

/** Where the bytes of a file named otherwise are (an S3 object spooled to disk) and its listed ETag. */
export interface FileAt {
  path: string;
  etag: string;
}

/**
 * Lands `file` (a name inside the source's folder, or an object's s3:// name with `at`) unless
 * these exact bytes already are. `client` must be a dedicated, checked-out client: the
 * transaction and COPY run on it.
 */
export async function landFile(client: pg.PoolClient | pg.Client, source: FileSource, file: string, at?: FileAt): Promise<LandOutcome> {
  const path = at?.path ?? join(source.folderPath, file);
  const digest = await digestFile(path);
  const already = await landedVersion(client, source.name, file, digest.sha256);
  if (already !== null) return { outcome: 'unchanged', file, version: already };

  await client.query('BEGIN');
  try {
    // One lander per file name at a time, so versions number without gaps or races; a second
    // process waits here and then finds the bytes landed.
    await client.query('select pg_advisory_xact_lock(hashtextextended($1, 727100270))', [`${source.name}/${file}`]);
    const raced = await landedVersion(client, source.name, file, digest.sha256);
    if (raced !== null) {
      await client.query('ROLLBACK');
      return { outcome: 'unchanged', file, version: raced };
    }
    const ids = await client.query<{ file_id: string; version: number }>(
      `select nextval(pg_get_serial_sequence('raw.file_manifest', 'file_id')) as file_id,
              coalesce(max(version), 0) + 1 as version
       from raw.file_manifest where source_name = $1 and file_name = $2`,
      [source.name, file],
    );
    const fileId = BigInt(ids.rows[0]!.file_id);
    const version = ids.rows[0]!.version;
    const rowsTarget = await ensureTypedTable(client, source);

    const badRows: BadRow[] = [];
    const tap = new HashTap();
    const toCopy = new RowsToCopy(source, fileId, file, (bad) => {
      badRows.push(bad);
      if (badRows.length > source.maxBadRows)
        toCopy.destroy(
          new FatalPipelineError(
            'FILES_TOO_MANY_BAD_ROWS',
            `${file}: more than ${source.maxBadRows} bad rows (source ${source.name}, maxBadRows); the first: ${badRows[0]!.reason}`,
          ),
        );
    });
    const copy = client.query(copyFrom(`COPY ${rowsTarget} FROM STDIN`));
    // One open file for the rows and for the bad records' bytes read back afterwards, so both
    // come from the same bytes even if the file is replaced meanwhile.
    const handle = await open(path);
    let badBytes: Buffer[];
    try {
      if (source.format === 'parquet') {
        // Parquet is read by row group at its own offsets: hash the bytes again afterwards.
        await pipeline(Readable.from(parquetGroups(path, file, source)), toCopy, copy);
        for await (const chunk of handle.createReadStream({ autoClose: false, start: 0 }) as AsyncIterable<Buffer>) tap.feed(chunk);
      } else {
        const parser = source.format === 'jsonl' ? new JsonLines(source.csv.encoding) : csvRecords(source);
        await pipeline(handle.createReadStream({ autoClose: false }), tap, parser, toCopy, copy);
      }
      const spans = badRows.flatMap((bad) => (bad.span ? [bad.span] : []));
      const read = await readRecords(handle, spans, source.csv.encoding);
      badBytes = badRows.map((bad) => (bad.span ? read.shift()! : (bad.payload ?? Buffer.alloc(0))));
    } catch (error) {
      // Either CSV reader's syntax errors (csv-parse's codes do not all start with CSV_).
      if (error instanceof CsvError || error instanceof CsvSyntaxError) {
        throw new FatalPipelineError('FILES_MALFORMED_CSV', `${file}: ${(error as Error).message} (source ${source.name})`, error);
      }
      throw error;
    } finally {
      await handle.close();
    }
    const read = tap.digest();
    if (read.sha256 !== digest.sha256 || read.size !== digest.size) {
      throw new ShopflowError('FILES_CHANGED_WHILE_LANDING', `${file} changed while it was being landed; run again to land its new bytes`, {
        canRetry: true,
      });
    }
    if (badRows.length > 0) {
      await copyLines(
        client,
        DEAD_LETTER_TARGET,
        badRows.map((bad, i) => deadLetterLine(source, file, version, bad, badBytes[i]!)),
      );
    }
    await client.query(
      `insert into raw.file_manifest (file_id, source_name, file_name, version, size_bytes, content_sha256, rows_landed, rows_dead, layout, source_etag)
       values ($1, $2, $3, $4, $5, $6, $7, $8, 'typed', $9)`,
      [fileId.toString(), source.name, file, version, digest.size, digest.sha256, toCopy.rows, badRows.length, at?.etag ?? null],
    );
    await client.query('COMMIT');
    return { outcome: 'landed', file, fileId, version, digest, rows: toCopy.rows, badRows: badRows.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
