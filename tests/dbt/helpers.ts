/**
 * Shared pieces of the dbt tests: run dbt against a test warehouse with its own target
 * directory, and query helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import type { Config } from '../../lib/config/index.ts';
import { runDbt } from '../../lib/dbt/run.ts';
import type { ProcessResult } from '../../lib/process.ts';

/** dbt writes manifests and logs per run directory, so test files never share dbt/target. */
export function dbtRunner(config: Config): {
  dbt: (args: string[], vars?: Record<string, string>, options?: { testLoadedSince?: string }) => Promise<ProcessResult>;
  /** This runner's dbt target directory (manifest, semantic_manifest.json, run_results.json of the last run). */
  targetPath: string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'shopflow-dbt-test-'));
  return {
    targetPath: join(dir, 'target'),
    dbt: (args, vars, options) =>
      runDbt(config, args, {
        targetPath: join(dir, 'target'),
        logPath: join(dir, 'logs'),
        threads: 2,
        ...(vars ? { vars } : {}),
        ...(options?.testLoadedSince ? { testLoadedSince: options.testLoadedSince } : {}),
        timeoutMs: 15 * 60_000,
      }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function withPg<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-dbt-tests' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
