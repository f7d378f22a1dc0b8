/**
 * What both the daemon and `--once` need: the ledger pool (ops_writer), the marts pool for alert
 * facts (bi_reader), the clock (database time unless injected), the job runner and the jobs.
 */
import { join } from 'node:path';

import type pg from 'pg';

import { roleUrl, type Config } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import { createPool } from '../lib/pg/pool.ts';
import { DatabaseClock, type Clock } from './clock.ts';
import type { JobDefinition, JobName } from './job.ts';
import { buildJobs } from './jobs/index.ts';
import { MartAlertFacts } from './jobs/alert-facts.ts';
import { AlertFreshness, type AlertFacts } from './jobs/operational-alerts.ts';
import { RunLedger } from './ledger.ts';
import { MeteredLedger, type SchedulerMetrics } from './metrics.ts';
import { Mutex } from './mutex.ts';
import type { PipelineOperations } from './operations.ts';
import { JobRunner, type RunRequest, type RunResult } from './runner.ts';

export interface CoreOptions {
  config: Config;
  logger: Logger;
  operations: PipelineOperations;
  instanceId?: string;
  /** Injected in tests; database time otherwise. */
  clock?: Clock;
  /** Injected in tests; the marts otherwise. */
  facts?: AlertFacts;
  /** Replace whole jobs (tests); the default jobs are built from `operations`. */
  jobOverrides?: Partial<Record<JobName, JobDefinition>>;
  maxAttempts?: number;
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Per-attempt step logs; default `<data dir>/logs/scheduler`. null keeps only ledger tails. */
  logDir?: string | null;
  /** Alert only on facts at most this old (default 1 hour). */
  alertLookbackMs?: number;
  /** Prometheus metrics of runs and steps (scheduler/metrics.ts); none when metrics are off. */
  metrics?: SchedulerMetrics;
}

export interface SchedulerCore {
  pool: pg.Pool;
  ledger: RunLedger;
  clock: Clock;
  jobs: Record<JobName, JobDefinition>;
  logDir: string | null;
  runJob(job: JobName, request: RunRequest): Promise<RunResult>;
  close(): Promise<void>;
}

export function createSchedulerCore(options: CoreOptions & { instanceId: string }): SchedulerCore {
  const { config, logger } = options;
  const pool = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-scheduler', max: 4, logger });
  let factsPool: pg.Pool | undefined;
  const facts =
    options.facts ??
    new MartAlertFacts(
      (factsPool = createPool({
        connectionString: roleUrl(config, 'bi_reader'),
        applicationName: 'shopflow-scheduler-alerts',
        max: 2,
        logger,
      })),
    );
  const ledger = options.metrics ? new MeteredLedger(pool, options.metrics) : new RunLedger(pool);
  const clock = options.clock ?? new DatabaseClock(pool);
  const jobs = {
    ...buildJobs({
      operations: options.operations,
      ledger,
      dbtMutex: new Mutex(),
      freshness: new AlertFreshness(),
      facts,
      alertLookbackMs: options.alertLookbackMs ?? 3_600_000,
    }),
    ...options.jobOverrides,
  };
  const logDir = options.logDir === undefined ? join(config.dataDir, 'logs', 'scheduler') : options.logDir;
  const runner = new JobRunner({
    config,
    ledger,
    clock,
    logger,
    instanceId: options.instanceId,
    sendAlert: (alert) => options.operations.sendAlert(alert),
    maxAttempts: options.maxAttempts ?? config.SCHEDULER_STEP_ATTEMPTS,
    retryMinDelayMs: options.retryMinDelayMs ?? 5_000,
    retryMaxDelayMs: options.retryMaxDelayMs ?? config.SCHEDULER_RETRY_MAX_MS,
    logDir,
  });
  let closed: Promise<void> | undefined;
  return {
    pool,
    ledger,
    clock,
    jobs,
    logDir,
    runJob: (job, request) => runner.run(jobs[job], request),
    close: () => (closed ??= Promise.all([pool.end(), factsPool?.end()]).then(() => undefined)),
  };
}
