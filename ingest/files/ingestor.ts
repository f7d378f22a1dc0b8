/**
 * One pass over every declared source: each file in its folder (or object under its S3 prefix,
 * s3-source.ts) whose name matches the source's pattern is landed unless its bytes already are
 * (lander.ts). A file refused for
 * its content (malformed CSV, a header without a declared column, too many bad rows) is
 * reported and skipped, so one bad export does not hold up the others; anything else (the
 * warehouse gone, a permission) stops the pass.
 */
import { readdir } from 'node:fs/promises';

import type pg from 'pg';

import { coerceError, FatalPipelineError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { S3Client } from '../../lib/s3/client.ts';
import { landFile, type LandOutcome } from './lander.ts';
import { landS3File, listS3Files } from './s3-source.ts';
import { patternRegex, type FileSource } from './source-config.ts';

export interface RefusedFile {
  source: string;
  file: string;
  code: string;
  reason: string;
}

export interface PassSummary {
  landed: Extract<LandOutcome, { outcome: 'landed' }>[];
  unchanged: number;
  refused: RefusedFile[];
}

export async function listSourceFiles(source: FileSource): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(source.folderPath, { withFileTypes: true });
  } catch (error) {
    throw new FatalPipelineError(
      'FILES_FOLDER_MISSING',
      `source ${source.name}: folder ${source.folderPath} cannot be read (${coerceError(error).message})`,
      error,
    );
  }
  const match = patternRegex(source.pattern);
  // Sorted, so versions and file_ids follow name order and a re-run lands in the same order.
  return entries
    .filter((e) => e.isFile() && match.test(e.name))
    .map((e) => e.name)
    .sort();
}

/**
 * `stop` aborted (the first SIGTERM) ends the pass after the file in flight commits. `s3`: the
 * client for sources on an S3 prefix (required when there are any).
 */
export async function landSources(
  pool: pg.Pool,
  sources: readonly FileSource[],
  logger: Logger,
  stop?: AbortSignal,
  s3?: S3Client,
): Promise<PassSummary> {
  const summary: PassSummary = { landed: [], unchanged: 0, refused: [] };
  for (const source of sources) {
    if (source.s3 && !s3) throw new Error(`source ${source.name} is on S3, but no S3 client was given`);
    const files = source.s3 ? await listS3Files(s3!, source) : (await listSourceFiles(source)).map((name) => ({ name, object: null }));
    for (const { name: file, object } of files) {
      if (stop?.aborted) return summary;
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        const outcome = object ? await landS3File(client, s3!, source, { name: file, object }) : await landFile(client, source, file);
        if (outcome.outcome === 'unchanged') {
          summary.unchanged++;
          continue;
        }
        summary.landed.push(outcome);
        logger.info(
          { source: source.name, file, version: outcome.version, rows: outcome.rows, badRows: outcome.badRows, bytes: outcome.digest.size },
          'file landed',
        );
      } catch (error) {
        // After a failed COPY the connection's state is unknown: the pool destroys it.
        broken = coerceError(error);
        if (!(error instanceof ShopflowError) || !error.code.startsWith('FILES_')) throw error;
        summary.refused.push({ source: source.name, file, code: error.code, reason: error.message });
        logger.error({ source: source.name, file, code: error.code }, error.message);
      } finally {
        client.release(broken);
      }
    }
  }
  return summary;
}
