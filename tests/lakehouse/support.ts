/**
 * What the lakehouse tests share: the lakehouse services (S3Proxy, the Spark cluster) next to
 * the suite's, a catalog database and table location of each test file's own, jobs started as
 * `npm run lake` starts them (and killed with SIGKILL), and a reader for the Iceberg tables.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Config } from '../../lib/config/index.ts';
import { jobCommand, jobEnded, jobSettings, type LakeJobName } from '../../lib/lakehouse/jobs.ts';
import { committedThrough } from '../../lib/lakehouse/status.ts';
import { lakehousePaths, installedLakehouse } from '../../lib/lakehouse/paths.ts';
import type { LakeSettings } from '../../lib/lakehouse/settings.ts';
import { LAKEHOUSE_SERVICES, upServices } from '../../scripts/services/index.ts';
import { uniqueSuffix } from '../helpers/config.ts';
import { hasFailed, reportKept } from '../helpers/failures.ts';

/**
 * Whether the lakehouse is installed here. Bootstrap installs it with LAKEHOUSE_ENABLED=true and
 * always in CI, so CI never skips these tests; a developer who has not switched it on skips them.
 */
export function lakehouseInstalled(config: Config): boolean {
  try {
    installedLakehouse(config);
    return true;
  } catch {
    if (config.CI) throw new Error('CI must test the lakehouse, but it is not installed: bootstrap should have installed it (CI=true)');
    return false;
  }
}

export async function ensureLakehouseServices(config: Config): Promise<void> {
  // The SQL endpoint is left out: a test that needs one starts its own, on its own catalog.
  const outcomes = await upServices(
    { ...config, LAKEHOUSE_ENABLED: true },
    LAKEHOUSE_SERVICES.filter((service) => service.name !== 'spark-sql'),
  );
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) throw new Error(`lakehouse services did not start: ${failed.map((o) => `${o.service}: ${o.message}`).join('; ')}`);
}

export interface LakeTestPlace {
  checkpointRoot: string;
  warehousePrefix: string;
  cleanup(): void;
}

export function lakeTestPlace(label: string): LakeTestPlace {
  const checkpointRoot = mkdtempSync(join(tmpdir(), `shopflow-lake-${label}-`));
  const warehousePrefix = `tests/${label}-${uniqueSuffix()}`;
  return {
    checkpointRoot,
    warehousePrefix,
    cleanup() {
      if (hasFailed()) {
        reportKept(`lakehouse checkpoints ${checkpointRoot}`, `tables under s3 prefix ${warehousePrefix}`);
        return;
      }
      rmSync(checkpointRoot, { recursive: true, force: true });
    },
  };
}

/** Removes a test's tables from the local object store (the S3Proxy filesystem backend). */
export function removeLocalTables(config: Config, prefix: string): void {
  if (!config.managed.s3 || hasFailed()) return;
  rmSync(join(config.dataDir, 's3proxy', 'blobs', config.S3_BUCKET, prefix), { recursive: true, force: true });
}

export interface RunningJob {
  child: ChildProcess;
  logFile: string;
  /** Throws, with how the job ended and its log's tail, when its driver is no longer running. */
  assertAlive(): void;
  /** SIGKILL to the job's whole process group: the Python driver and its JVM die at once. */
  kill9(): Promise<void>;
}

export function startJob(config: Config, job: LakeJobName, settings: LakeSettings, logFile: string): RunningJob {
  const paths = lakehousePaths(config);
  const { command, args, env } = jobCommand(paths, job, settings);
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd: paths.jobsDir, env, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    logFile,
    assertAlive() {
      const ended = jobEnded(child);
      if (ended) throw new Error(`the ${job} job ${ended}; the end of ${logFile}:\n${logTail(logFile)}`);
    },
    async kill9() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
      // The JVM is in the same group; give the cluster a moment to see the driver is gone.
      await sleep(500);
    },
  };
}

function logTail(logFile: string, lines = 40): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(no log: ${String(error)})`;
  }
}

export function testJobSettings(config: Config, job: LakeJobName, place: LakeTestPlace, change: Partial<LakeSettings> = {}): LakeSettings {
  return jobSettings(config, job, {
    checkpointDir: join(place.checkpointRoot, job),
    warehousePrefix: place.warehousePrefix,
    // One core per job: the test's reader or a second job still finds a free worker.
    maxCores: 1,
    adjust: (s) => ({ ...s, triggerSeconds: 1, ...change }),
  });
}

/** Rows of each SQL statement, read by a local-mode Spark session (the cluster stays with the jobs). */
export function queryLake(config: Config, settings: LakeSettings, statements: string[], timeoutMs = 300_000): Record<string, unknown>[][] {
  const paths = lakehousePaths(config);
  const { command, args, env } = jobCommand(
    paths,
    'query',
    { ...settings, appName: 'shopflow-test-reader', master: 'local[1]' },
    statements,
  );
  const result = spawnSync(command, args, { cwd: paths.jobsDir, env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: timeoutMs });
  if (result.status !== 0) throw new Error(`lake query exited with ${result.status ?? result.signal}:\n${result.stderr.slice(-3000)}`);
  const results: Record<string, unknown>[][] = [[]];
  for (const line of result.stdout.split('\n')) {
    if (line === '--') results.push([]);
    else if (line.trim() !== '') results.at(-1)!.push(JSON.parse(line) as Record<string, unknown>);
  }
  results.pop();
  return results;
}

export async function waitForCommitted(
  streamCheckpoint: string,
  topic: string,
  ends: Record<string, number>,
  timeoutMs: number,
  job?: RunningJob,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = committedThrough(streamCheckpoint, topic);
    if (Object.entries(ends).every(([p, end]) => (got[p] ?? 0) >= end)) return;
    job?.assertAlive();
    if (Date.now() > deadline)
      throw new Error(`not landed after ${timeoutMs} ms: ${JSON.stringify(got)} of ${JSON.stringify(ends)}; see ${job?.logFile}`);
    await sleep(1000);
  }
}
