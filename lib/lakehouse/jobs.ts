/**
 * The lakehouse's streaming jobs and how to start one: a Python driver
 * (`python -m shopflow_lake.<module>`) from the lakehouse venv, told everything through
 * SHOPFLOW_LAKE_SETTINGS (settings.ts), running its executors on the configured Spark cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { childEnv, type Config } from '../config/index.ts';
import { installedLakehouse, type LakehousePaths } from './paths.ts';
import { lakeSettings, type LakeSettings } from './settings.ts';

export const LAKE_JOBS = {
  clickstream: { module: 'shopflow_lake.clickstream', what: 'Kafka shop.events -> Iceberg raw.shop_events + raw.dead_letters' },
  windows: {
    module: 'shopflow_lake.windows',
    what: 'Kafka shop.events -> Iceberg realtime.revenue_5m / revenue_1h, category_revenue_5m / _1h (+ late events)',
  },
  changes: { module: 'shopflow_lake.changes', what: 'Kafka change topic (CDC) -> Iceberg raw.shop_changes' },
} as const;

/** One-shot programs on the same settings: SQL queries, the tables' maintenance, publishing marts. */
export const LAKE_TASKS = {
  query: { module: 'shopflow_lake.query' },
  maintenance: { module: 'shopflow_lake.maintenance' },
  publish: { module: 'shopflow_lake.publish' },
} as const;

export type LakeJobName = keyof typeof LAKE_JOBS | keyof typeof LAKE_TASKS;
export const LAKE_JOB_NAMES = Object.keys(LAKE_JOBS) as (keyof typeof LAKE_JOBS)[];

export interface JobOptions {
  /** Defaults to <data>/lakehouse/checkpoints/<job>. */
  checkpointDir?: string;
  /** Settings a test or bench changes (cores, batch size, catalog database, table prefix). */
  adjust?: (settings: LakeSettings) => LakeSettings;
  maxCores?: number;
  catalogDatabase?: string;
  warehousePrefix?: string;
}

export function jobSettings(config: Config, job: LakeJobName, options: JobOptions = {}, paths = installedLakehouse(config)): LakeSettings {
  const settings = lakeSettings(config, paths, {
    name: job,
    checkpointDir: options.checkpointDir ?? join(paths.dataDir, 'checkpoints', job),
    ...(options.maxCores === undefined ? {} : { maxCores: options.maxCores }),
    ...(options.catalogDatabase === undefined ? {} : { catalogDatabase: options.catalogDatabase }),
    ...(options.warehousePrefix === undefined ? {} : { warehousePrefix: options.warehousePrefix }),
  });
  return options.adjust ? options.adjust(settings) : settings;
}

/**
 * The AWS SDK (inside iceberg-aws-bundle) adds checksums to every request by default since 2.30,
 * sent as a streaming trailer that S3-compatible stores (S3Proxy among them) reject; only when
 * an operation requires one is what AWS S3 itself asked for before. Executors get the same
 * (session.py, spark.executorEnv).
 */
export const S3_CLIENT_ENV = { AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required', AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required' };

/** The command and explicit environment that run `job` (no ambient variables reach it). */
export function jobCommand(
  paths: LakehousePaths,
  job: LakeJobName,
  settings: LakeSettings,
  extraArgs: string[] = [],
): { command: string; args: string[]; env: Record<string, string> } {
  return {
    command: paths.python,
    args: [
      '-m',
      (job in LAKE_JOBS ? LAKE_JOBS[job as keyof typeof LAKE_JOBS] : LAKE_TASKS[job as keyof typeof LAKE_TASKS]).module,
      ...extraArgs,
    ],
    env: childEnv({
      SHOPFLOW_LAKE_SETTINGS: JSON.stringify(settings),
      PYTHONPATH: paths.jobsDir,
      PYTHONUNBUFFERED: '1',
      // The driver's JVM heap is fixed when pyspark launches it, before any session option applies.
      PYSPARK_SUBMIT_ARGS: `--driver-memory ${settings.driverMemory} pyspark-shell`,
      SPARK_LOCAL_IP: '127.0.0.1',
      ...S3_CLIENT_ENV,
    }),
  };
}

/**
 * How a job's process ended, or undefined while it runs. A process killed by a signal (kill -9,
 * the OOM killer) has a null exitCode and its signal in signalCode: a check of exitCode alone
 * takes it for alive and waits for a landing that never comes.
 */
export function jobEnded(child: Pick<ChildProcess, 'exitCode' | 'signalCode'>): string | undefined {
  if (child.exitCode !== null) return `exited with ${child.exitCode}`;
  if (child.signalCode !== null) return `was killed by ${child.signalCode}`;
  return undefined;
}

/** Start a job in its own process group (so a stop reaches its JVM too), output to `logFile`'s fd. */
export function spawnJob(paths: LakehousePaths, job: LakeJobName, settings: LakeSettings, stdio: 'ignore' | number): ChildProcess {
  const { command, args, env } = jobCommand(paths, job, settings);
  const child = spawn(command, args, { cwd: paths.jobsDir, env, detached: true, stdio: ['ignore', stdio, stdio] });
  return child;
}
