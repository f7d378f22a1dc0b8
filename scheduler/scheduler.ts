/**
 * The scheduler daemon. One instance leads at a time (a Postgres advisory lock on a dedicated
 * connection); others stand by and poll for the lock, so when the leader dies its connection
 * closes, Postgres frees the lock and a standby takes over. The leader supervises the ingestors
 * and, on every tick, asks which jobs are due (due.ts) by database time, then runs them: one run
 * per job at a time (in-process guard), a per-job advisory lock against `--once` runs elsewhere,
 * dbt serialised by a mutex, every step in the ledger.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { roleUrl } from '../lib/config/index.ts';
import { coerceError, isRetryable } from '../lib/errors.ts';
import { backoffDelay } from '../lib/retry.ts';
import type { Logger } from '../lib/logger.ts';
import { dueCron, dueInterval, dueReport, type DueRun } from './due.ts';
import type { JobName } from './job.ts';
import { jobLockKey, LEADER_LOCK_KEY, LockSession } from './lock-session.ts';
import type { LastExecution } from './ledger.ts';
import { CronSchedule } from './schedule.ts';
import { createSchedulerCore, type CoreOptions, type SchedulerCore } from './core.ts';
import type { RunResult } from './runner.ts';
import { ProcessSupervisor, type SupervisedProcess } from './supervisor.ts';
import { alertPendingOutage, OutageTracker, writeOutageNote } from './outage.ts';
import { JOB_NAMES } from './job.ts';

export type SchedulerRole = 'starting' | 'standby' | 'leader' | 'stopped';

/** Launch order when several jobs are due at once (after downtime): managers wait for the report. */
const JOB_PRIORITY: readonly JobName[] = ['report', 'alerts', 'nightly', 'microbatch', 'lake_maintenance'];

export interface SchedulerOptions extends CoreOptions {
  /** Jobs this scheduler runs (default: all four). */
  jobs?: readonly JobName[];
  /** Long-running children supervised while leading (the ingestors). */
  ingestors?: SupervisedProcess[];
  tickMs?: number;
  standbyPollMs?: number;
  heartbeatMs?: number;
  /** On shutdown, how long running jobs may finish before they are interrupted. */
  drainMs?: number;
  alertsIntervalMs?: number;
  supervisorBackoff?: { minMs: number; maxMs: number };
  onJobFinished?: (job: JobName, result: RunResult) => void;
  /** How often the leader retries undelivered alerts (the outbox). Default 30 s. */
  outboxIntervalMs?: number;
  /** How often the leader closes runs whose process is gone and expires dead instances. Default 30 s. */
  sweepIntervalMs?: number;
  /** Backoff of the day's report after a failed run (SMTP or the database down): default 5 min doubling to 30 min. */
  reportRetry?: { minMs: number; maxMs: number };
  /** A database outage at least this long is alerted once the database is back. Default 60 s. */
  outageAlertAfterMs?: number;
  /** An instance whose heartbeat is older than this is recorded 'stopped'. Default 2 min. */
  instanceStaleMs?: number;
}

interface ReportRetry {
  businessDate: string;
  failures: number;
  notBefore: Date;
}

export class Scheduler {
  readonly instanceId: string;
  readonly #options: SchedulerOptions;
  readonly #logger: Logger;
  readonly #core: SchedulerCore;
  readonly #reportSchedule: CronSchedule;
  readonly #nightlySchedule: CronSchedule;
  readonly #lakeMaintenanceSchedule: CronSchedule;
  readonly #enabled: readonly JobName[];
  readonly #stopController = new AbortController();
  #role: SchedulerRole = 'starting';
  #loop: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  /** Abort signal of the current leadership term: jobs are interrupted when it ends. */
  #jobsController: AbortController | undefined;
  readonly #running = new Map<JobName, Promise<void>>();
  #last = new Map<string, LastExecution>();
  readonly #supervisors: ProcessSupervisor[] = [];
  readonly #outage: OutageTracker;
  #reportRetry: ReportRetry | undefined;
  #lastSweep = 0;
  #lastFlush = 0;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.instanceId = options.instanceId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#logger = options.logger.child({ instance: this.instanceId });
    this.#core = createSchedulerCore({ ...options, instanceId: this.instanceId, logger: this.#logger });
    const tz = options.config.SCHEDULER_TZ;
    this.#reportSchedule = new CronSchedule(options.config.REPORT_CRON, tz);
    this.#nightlySchedule = new CronSchedule(options.config.NIGHTLY_CRON, tz);
    this.#lakeMaintenanceSchedule = new CronSchedule(options.config.LAKE_MAINTENANCE_CRON, tz);
    this.#enabled = options.jobs ?? JOB_PRIORITY;
    this.#outage = new OutageTracker(options.outageAlertAfterMs ?? 60_000);
    for (const spec of options.ingestors ?? []) {
      this.#supervisors.push(
        new ProcessSupervisor(spec, {
          logger: this.#logger,
          minBackoffMs: options.supervisorBackoff?.minMs ?? 1_000,
          maxBackoffMs: options.supervisorBackoff?.maxMs ?? 60_000,
        }),
      );
    }
  }

  get role(): SchedulerRole {
    return this.#role;
  }

  get core(): SchedulerCore {
    return this.#core;
  }

  get supervisors(): readonly ProcessSupervisor[] {
    return this.#supervisors;
  }

  /** Starts the standby/lead loop in the background; resolves once the first role is known. */
  async start(): Promise<void> {
    if (this.#loop) return;
    await this.#setRole('starting');
    this.#loop = this.#mainLoop().catch((error: unknown) => {
      this.#logger.fatal({ err: error }, 'scheduler loop crashed');
    });
    while (this.#role === 'starting' && !this.#stopController.signal.aborted) await sleep(20);
  }

  /** Graceful stop: no new jobs, running ones get drainMs to finish, ingestors get SIGTERM. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info('scheduler stopping');
      this.#stopController.abort(new Error('scheduler stopping'));
      await this.#loop;
      await this.#setRole('stopped').catch((error: unknown) => this.#logger.warn({ err: error }, 'could not record the stopped role'));
      await this.#core.close();
      this.#logger.info('scheduler stopped');
    })();
    return this.#stopping;
  }

  async #mainLoop(): Promise<void> {
    const stop = this.#stopController.signal;
    const pollMs = this.#options.standbyPollMs ?? 5_000;
    while (!stop.aborted) {
      let session: LockSession | undefined;
      try {
        session = await LockSession.open(roleUrl(this.#options.config, 'ops_writer'), 'shopflow-scheduler-lock', this.#logger);
        let announced = false;
        while (!stop.aborted && !session.lost.aborted) {
          if (await session.tryLock(LEADER_LOCK_KEY)) {
            await this.#lead(session);
            break;
          }
          if (!announced) {
            this.#logger.info({ pollMs }, 'another scheduler holds the leader lock: standing by');
            announced = true;
          }
          await this.#setRole('standby');
          // Standbys beat too, so a leader can tell a dead standby from a waiting one.
          await this.#core.ledger.heartbeat(this.instanceId, this.#core.clock.now()).catch(() => undefined);
          await sleepUntil(pollMs, AbortSignal.any([stop, session.lost]));
        }
      } catch (error) {
        if (isRetryable(error)) this.#outage.failed(coerceError(error));
        this.#logger.error({ err: error }, 'scheduler lock loop error: retrying');
        if (this.#role !== 'standby') await this.#setRole('standby').catch(() => undefined);
        await sleepUntil(pollMs, stop);
      } finally {
        await session?.close();
      }
    }
  }

  async #lead(session: LockSession): Promise<void> {
    const stop = this.#stopController.signal;
    const termController = new AbortController();
    this.#jobsController = termController;
    const lostOrStopped = AbortSignal.any([stop, session.lost, termController.signal]);
    this.#logger.info('leader lock acquired: this scheduler is active');
    await this.#setRole('leader');
    // Holding the leader lock proves every other 'leader' row is a dead process's.
    await this.#core.ledger
      .expireInstances(this.instanceId, new Date(this.#core.clock.now().getTime() - (this.#options.instanceStaleMs ?? 120_000)))
      .catch(() => undefined);
    for (const supervisor of this.#supervisors) supervisor.start();
    const heartbeat = setInterval(() => {
      void session.ping().then(
        () => this.#core.ledger.heartbeat(this.instanceId, this.#core.clock.now()).catch(() => undefined),
        (error: unknown) => {
          this.#logger.error({ err: error }, 'leader heartbeat failed: giving up leadership');
          termController.abort(new Error('leader lock connection lost'));
        },
      );
    }, this.#options.heartbeatMs ?? 5_000);
    try {
      this.#last = await this.#core.ledger.lastExecutions();
      let catchingUp = true;
      while (!lostOrStopped.aborted) {
        try {
          await this.#tick(session, catchingUp);
          catchingUp = false;
          await this.#housekeeping(session);
        } catch (error) {
          if (isRetryable(error)) this.#outage.failed(coerceError(error));
          this.#logger.error({ err: error }, 'scheduler tick failed');
        }
        await sleepUntil(this.#options.tickMs ?? 2_000, lostOrStopped);
      }
    } finally {
      clearInterval(heartbeat);
      const lost = !stop.aborted;
      if (lost) this.#logger.error('leadership lost: interrupting jobs and stopping ingestors');
      // The lock connection died: the database went away (or dropped us). Its length decides whether to alert.
      if (session.lost.aborted && !stop.aborted) this.#outage.failed(coerceError(session.lost.reason));
      await this.#endTerm(termController, lost);
      if (!session.lost.aborted) await session.unlock(LEADER_LOCK_KEY).catch(() => undefined);
      if (lost) await this.#setRole('standby');
    }
  }

  /** Ends a leadership term: ingestors get SIGTERM, jobs get drainMs (none if the lock was lost). */
  async #endTerm(termController: AbortController, lost: boolean): Promise<void> {
    const stopping = Promise.all(this.#supervisors.map((s) => s.stop()));
    const running = Promise.all(this.#running.values());
    if (!lost && this.#running.size > 0) {
      const drainMs = this.#options.drainMs ?? 20_000;
      this.#logger.info({ jobs: [...this.#running.keys()], drainMs }, 'waiting for running jobs to finish');
      const finished = await Promise.race([running.then(() => true), sleep(drainMs, false, { ref: false })]);
      if (!finished) this.#logger.warn('jobs did not finish in time: interrupting them (the ledger records them as interrupted)');
    }
    termController.abort(new Error(lost ? 'leadership lost' : 'scheduler stopping'));
    await running;
    await stopping;
  }

  async #tick(session: LockSession, catchingUp: boolean): Promise<void> {
    const { clock } = this.#core;
    await clock.sync();
    const now = clock.now();
    for (const job of JOB_PRIORITY) {
      if (!this.#enabled.includes(job) || this.#running.has(job)) continue;
      const due = await this.#due(job, now, catchingUp);
      if (due) this.#launch(session, job, due);
    }
  }

  async #due(job: JobName, now: Date, catchingUp: boolean): Promise<DueRun | null> {
    const last = this.#last.get(job)?.lastScheduledFor ?? null;
    const tz = this.#options.config.SCHEDULER_TZ;
    switch (job) {
      case 'report': {
        const due = dueReport(this.#reportSchedule, now, last, catchingUp) ?? (await this.#reportRetryDue(now));
        if (!due) return null;
        if ((await this.#core.ledger.reportState(due.businessDate)) === 'sent') {
          this.#remember(job, due.scheduledFor);
          return null;
        }
        return due;
      }
      case 'nightly':
        return dueCron(this.#nightlySchedule, now, last);
      case 'microbatch':
        return dueInterval(this.#options.config.MICROBATCH_MINUTES * 60_000, now, last, tz);
      case 'alerts':
        return dueInterval(this.#options.alertsIntervalMs ?? 60_000, now, last, tz);
      case 'lake_maintenance':
        // Only with the lakehouse on; a missed night is not caught up twice (the next run compacts all).
        return this.#options.config.LAKEHOUSE_ENABLED ? dueCron(this.#lakeMaintenanceSchedule, now, last) : null;
    }
  }

  /**
   * The day's report after a failed run (SMTP down, the database down, dbt failing): run again
   * with capped backoff until it is sent, blocked by the gate, or needs a person ('unknown'),
   * or the day is over. No restart needed.
   */
  async #reportRetryDue(now: Date): Promise<DueRun | null> {
    const retry = this.#reportRetry;
    if (!retry || now < retry.notBefore) return null;
    const today = dueReport(this.#reportSchedule, now, null, false);
    if (!today || today.businessDate !== retry.businessDate) {
      this.#reportRetry = undefined;
      return null;
    }
    const state = await this.#core.ledger.reportState(retry.businessDate);
    if (state !== 'none' && state !== 'failed') {
      this.#reportRetry = undefined;
      return null;
    }
    this.#logger.warn({ businessDate: retry.businessDate, failures: retry.failures }, 'report not sent yet today: running it again');
    return { ...today, trigger: 'retry' as DueRun['trigger'] };
  }

  #noteReportResult(businessDate: string, status: RunResult['status'] | 'crashed'): void {
    if (status !== 'failed' && status !== 'crashed') {
      this.#reportRetry = undefined;
      return;
    }
    const failures = this.#reportRetry?.businessDate === businessDate ? this.#reportRetry.failures + 1 : 1;
    const policy = this.#options.reportRetry ?? { minMs: 5 * 60_000, maxMs: 30 * 60_000 };
    const delayMs = backoffDelay(failures, { minDelayMs: policy.minMs, maxDelayMs: policy.maxMs });
    this.#reportRetry = { businessDate, failures, notBefore: new Date(this.#core.clock.now().getTime() + delayMs) };
    this.#logger.warn({ businessDate, failures, retryInMs: delayMs }, 'report run failed: it runs again later today');
  }

  /** Outbox, abandoned runs, dead instances, and the alert for an outage that just ended. */
  async #housekeeping(session: LockSession): Promise<void> {
    const outage = this.#outage.recovered();
    if (outage) {
      await this.#options.operations.sendAlert(outage).catch(async (error: unknown) => {
        this.#logger.error({ err: coerceError(error) }, 'could not record the outage alert; kept for the next attempt');
        await writeOutageNote(this.#options.config, {
          since: String((outage.details as { since: string }).since),
          error: String(error),
          who: 'scheduler daemon',
        });
      });
    }
    const realNow = Date.now();
    if (realNow - this.#lastFlush >= (this.#options.outboxIntervalMs ?? 30_000)) {
      this.#lastFlush = realNow;
      await alertPendingOutage(this.#options.config, (alert) => this.#options.operations.sendAlert(alert), this.#logger).catch(
        (error: unknown) => this.#logger.warn({ err: coerceError(error) }, 'could not send the pending outage alert yet'),
      );
      if (this.#options.operations.flushAlerts) {
        await this.#options.operations
          .flushAlerts()
          .catch((error: unknown) => this.#logger.warn({ err: coerceError(error) }, 'alert outbox flush failed'));
      }
    }
    if (realNow - this.#lastSweep >= (this.#options.sweepIntervalMs ?? 30_000)) {
      this.#lastSweep = realNow;
      const now = this.#core.clock.now();
      for (const job of JOB_NAMES) {
        if (this.#running.has(job)) continue;
        const key = jobLockKey(job);
        // A run is alive exactly while its process holds the job's lock (a session lock dies with its connection).
        if (!(await session.tryLock(key))) continue;
        try {
          const abandoned = await this.#core.ledger.abandonRunning(
            job,
            now,
            'abandoned: the process running it is gone (its job lock was free)',
          );
          if (abandoned > 0) this.#logger.warn({ job, abandoned }, 'closed runs whose process is gone');
        } finally {
          await session.unlock(key);
        }
      }
      await this.#core.ledger.expireInstances(this.instanceId, new Date(now.getTime() - (this.#options.instanceStaleMs ?? 120_000)));
    }
  }

  #remember(job: JobName, scheduledFor: Date): void {
    const previous = this.#last.get(job);
    this.#last.set(job, {
      job,
      lastScheduledFor: scheduledFor,
      lastRunId: previous?.lastRunId ?? null,
      lastStartedAt: null,
      lastFinishedAt: null,
      lastStatus: null,
    });
  }

  #launch(session: LockSession, job: JobName, due: DueRun): void {
    const signal = this.#jobsController!.signal;
    const logger = this.#logger.child({ job });
    const run = (async () => {
      const key = jobLockKey(job);
      if (!(await session.tryLock(key))) {
        logger.warn('job is running in another process (a --once run?): skipping this tick');
        return;
      }
      try {
        this.#remember(job, due.scheduledFor);
        const abandoned = await this.#core.ledger.abandonRunning(
          job,
          this.#core.clock.now(),
          'abandoned: the process running it stopped without finishing (crash, kill or lost leadership)',
        );
        if (abandoned > 0) logger.warn({ abandoned }, 'closed runs left open by a dead scheduler');
        let result: RunResult | undefined;
        try {
          result = await this.#core.runJob(job, {
            trigger: due.trigger,
            businessDate: due.businessDate,
            scheduledFor: due.scheduledFor,
            signal,
          });
        } finally {
          if (job === 'report') this.#noteReportResult(due.businessDate, result?.status ?? 'crashed');
        }
        this.#options.onJobFinished?.(job, result);
      } finally {
        await session.unlock(key).catch(() => undefined);
      }
    })()
      .catch((error: unknown) => logger.error({ err: coerceError(error) }, 'job run crashed'))
      .finally(() => this.#running.delete(job));
    this.#running.set(job, run);
  }

  async #setRole(role: SchedulerRole): Promise<void> {
    if (this.#role === role && role !== 'starting') return;
    this.#role = role;
    await this.#core.ledger
      .setInstanceRole({ instanceId: this.instanceId, hostname: hostname(), pid: process.pid }, role, this.#core.clock.now())
      .catch((error: unknown) => this.#logger.warn({ err: error, role }, 'could not record the scheduler role'));
  }
}

/** Sleep that ends early (without throwing) when the signal aborts. */
async function sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}
