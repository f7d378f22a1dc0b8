/**
 * File sources on an S3-compatible prefix. Each object directly under the prefix whose name
 * matches the source's pattern goes through the same lander as a file from a folder: it is
 * streamed to a spool file on local disk (bounded memory), then landed from there, so the
 * manifest hash is of exactly the bytes landed, a bad record's dead letter is read back byte for
 * byte, and Parquet gets the random access its footer needs. An object whose ETag and size match
 * a version already landed is skipped without being read; the GET asks for the listed ETag
 * (If-Match), so an object replaced between listing and reading is left for the next pass
 * instead of landing under the wrong name.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';

import { FatalPipelineError, ShopflowError } from '../../lib/errors.ts';
import { S3RequestError, type S3Client, type S3Object } from '../../lib/s3/client.ts';
import { landFile, type LandOutcome } from './lander.ts';
import { patternRegex, type FileSource } from './source-config.ts';

export interface S3File {
  /** The manifest's file_name: s3://<bucket>/<key>. */
  name: string;
  object: S3Object;
}

export const s3Name = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** The source's objects (directly under its prefix, name matching its pattern), in key order. */
export async function listS3Files(s3: S3Client, source: FileSource): Promise<S3File[]> {
  const { bucket, prefix } = source.s3!;
  const match = patternRegex(source.pattern);
  const files: S3File[] = [];
  try {
    for await (const object of s3.list(bucket, prefix)) {
      const rest = object.key.slice(prefix.length);
      if (rest !== '' && !rest.includes('/') && match.test(rest)) files.push({ name: s3Name(bucket, object.key), object });
    }
  } catch (error) {
    if (error instanceof S3RequestError && error.status < 500)
      throw new FatalPipelineError(
        'FILES_S3_UNREADABLE',
        `source ${source.name}: ${s3Name(bucket, prefix)} cannot be listed (${error.message})`,
        error,
      );
    throw error;
  }
  return files.sort((a, b) => (a.object.key < b.object.key ? -1 : a.object.key > b.object.key ? 1 : 0));
}

/** The version under which this object (by ETag and size) landed in the typed layout, if it did. */
async function landedByEtag(client: pg.ClientBase, source: FileSource, file: S3File): Promise<number | null> {
  const found = await client.query<{ version: number }>(
    `select version from raw.file_manifest
      where source_name = $1 and file_name = $2 and source_etag = $3 and size_bytes = $4 and layout = 'typed'
      order by version desc limit 1`,
    [source.name, file.name, file.object.etag, file.object.size],
  );
  return found.rows[0]?.version ?? null;
}

/** Lands one object unless it already landed: spooled to local disk, then the folder path's lander. */
export async function landS3File(client: pg.PoolClient | pg.Client, s3: S3Client, source: FileSource, file: S3File): Promise<LandOutcome> {
  const known = await landedByEtag(client, source, file);
  if (known !== null) return { outcome: 'unchanged', file: file.name, version: known };
  const spool = await mkdtemp(join(tmpdir(), 'shopflow-files-s3-'));
  try {
    const path = join(spool, 'object');
    try {
      const body = await s3.get(source.s3!.bucket, file.object.key, { ifMatch: file.object.etag });
      await pipeline(body, createWriteStream(path));
    } catch (error) {
      if (error instanceof S3RequestError && (error.status === 412 || error.status === 404))
        throw new ShopflowError(
          'FILES_CHANGED_WHILE_LANDING',
          `${file.name} changed or went away after it was listed (${error.s3Code}); the next pass lands what is there then`,
          { cause: error, canRetry: true },
        );
      throw error;
    }
    return await landFile(client, source, file.name, { path, etag: file.object.etag });
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}
