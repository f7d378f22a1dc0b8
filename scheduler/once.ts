/**
 * `--once JOB`: run one job now, in this process, and return its result. It takes the job's
 * advisory lock (so it never overlaps the daemon running the same job) but not the leader lock,
 * so it works whether or not a scheduler daemon is running.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import { roleUrl } from '../lib/config/index.ts';
import { coerceError, isRetryable, ServiceUnavailableError, ShopflowError } from '../lib/errors.ts';
import { withRetry, type BackoffPolicy } from '../lib/retry.ts';
import { createSchedulerCore, type CoreOptions } from './core.ts';
import type { JobName } from './job.ts';
import { jobLockKey, LockSession } from './lock-session.ts';
import type { RunResult } from './runner.ts';
import { alertPendingOutage, writeOutageNote } from './outage.ts';
import { localDate, reportBusinessDate } from './schedule.ts';

export class JobBusyError extends ShopflowError {
  constructor(job: string) {
    super(
      'SHOPFLOW_JOB_BUSY',
      `the ${job} job is running in another process right now (see: select * from ops.runs where status = 'running'); try again when it finishes`,
    );
  }
}

export async function runOnce(
  options: CoreOptions,
  job: JobName,
  businessDate?: string,
  signal: AbortSignal = new AbortController().signal,
): Promise<RunResult> {
  const instanceId = options.instanceId ?? `${hostname()}:${process.pid}:once:${randomUUID().slice(0, 8)}`;
  const core = createSchedulerCore({ ...options, instanceId });
  let session: LockSession | undefined;
  try {
    session = await LockSession.open(roleUrl(options.config, 'ops_writer'), 'shopflow-scheduler-once', options.logger);
    const key = jobLockKey(job);
    if (!(await session.tryLock(key))) throw new JobBusyError(job);
    await core.clock.sync();
    const now = core.clock.now();
    await core.ledger.abandonRunning(
      job,
      now,
      'abandoned: the process running it stopped without finishing (crash, kill or lost leadership)',
    );
    const lockSession = session;
    const result = await core.runJob(job, {
      trigger: 'manual',
      // A manual report covers yesterday by default, like the scheduled one.
      businessDate:
        businessDate ??
        (job === 'report' ? reportBusinessDate(now, options.config.SCHEDULER_TZ) : localDate(now, options.config.SCHEDULER_TZ)),
      scheduledFor: null,
      signal: AbortSignal.any([signal, lockSession.lost]),
    });
    // Interrupted because the database went away (the lock connection died): an outage, retried by runOnceRetrying.
    if (result.status === 'failed' && lockSession.lost.aborted && !signal.aborted) {
      throw new ServiceUnavailableError(
        `the ${job} run ${result.runId} was interrupted: the connection to the warehouse was lost (${result.error ?? ''})`,
      );
    }
    return result;
  } finally {
    await session?.close();
    await core.close();
  }
}

/** Database (or lock connection) outages during `--once`: retried like the daemon retries them. */
export const ONCE_OUTAGE_RETRY: BackoffPolicy = { maxAttempts: 6, minDelayMs: 2_000, maxDelayMs: 60_000 };

/**
 * runOnce, retried whole when the database is unreachable (connection refused, admin shutdown):
 * the next attempt takes the job lock again, closes the run the outage interrupted and starts
 * over (the report is still sent at most once: the delivery ledger decides). When the outage
 * outlasts the retries, a note is left for the next scheduler process that reaches the
 * database, which alerts about it; a note left by an earlier run is alerted here on success.
 */
export async function runOnceRetrying(
  options: CoreOptions,
  job: JobName,
  businessDate?: string,
  signal: AbortSignal = new AbortController().signal,
  retry: Partial<BackoffPolicy> = {},
): Promise<RunResult> {
  const since = new Date();
  try {
    const result = await withRetry(() => runOnce(options, job, businessDate, signal), {
      ...ONCE_OUTAGE_RETRY,
      ...retry,
      signal,
      retryable: isRetryable,
      onRetry: (err, attempt, delayMs) =>
        options.logger.warn({ err, attempt, delayMs, job }, 'the warehouse is unreachable: retrying the run'),
    });
    await alertPendingOutage(options.config, (alert) => options.operations.sendAlert(alert), options.logger).catch((error: unknown) =>
      options.logger.warn({ err: coerceError(error) }, 'could not send the pending outage alert yet'),
    );
    return result;
  } catch (error) {
    if (isRetryable(error)) {
      await writeOutageNote(options.config, { since: since.toISOString(), error: coerceError(error).message, who: `--once ${job}` }).catch(
        () => undefined,
      );
    }
    throw error;
  }
}
