/**
 * The run ledger in ops: one ops.runs row per job run, one ops.run_steps row per step attempt,
 * and ops.scheduler_executions holding each job's last execution. Timestamps come from the
 * scheduler's Clock (database time in production), so compressed-time tests read consistently.
 */
import type pg from 'pg';

import { isRetryable } from '../lib/errors.ts';
import { withRetry } from '../lib/retry.ts';
import type { NightlyBuild, StepStart } from './jobs/dbt-args.ts';

/** A short database blip must not cost a run its ledger: writes are retried for about 15 s. */
const WRITE_RETRY = { maxAttempts: 6, minDelayMs: 500, maxDelayMs: 5_000, retryable: isRetryable };

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'blocked' | 'skipped';
export type StepStatus = 'running' | 'succeeded' | 'failed';

/** Output tails are for reading in a query result or an email, not for archiving logs. */
const MAX_TAIL_CHARS = 8_000;

function clip(text: string | undefined): string | null {
  if (text === undefined) return null;
  return text.length > MAX_TAIL_CHARS ? `…${text.slice(-MAX_TAIL_CHARS)}` : text;
}

export interface RunStart {
  runId: string;
  job: string;
  trigger: string;
  businessDate: string | null;
  scheduledFor: Date | null;
  instanceId: string;
  at: Date;
}

export interface LastExecution {
  job: string;
  lastScheduledFor: Date | null;
  lastRunId: string | null;
  lastStartedAt: Date | null;
  lastFinishedAt: Date | null;
  lastStatus: string | null;
}

export class RunLedger {
  constructor(private readonly pool: pg.Pool) {}

  async startRun(run: RunStart): Promise<void> {
    await this.pool.query(
      `insert into ops.runs (run_id, job, trigger, business_date, started_at, status, instance_id, scheduled_for)
       values ($1, $2, $3, $4, $5, 'running', $6, $7)`,
      [run.runId, run.job, run.trigger, run.businessDate, run.at, run.instanceId, run.scheduledFor],
    );
    await this.pool.query(
      `insert into ops.scheduler_executions as e (job, last_scheduled_for, last_run_id, last_started_at, last_finished_at, last_status, instance_id, updated_at)
       values ($1, $2, $3, $4, null, 'running', $5, now())
       on conflict (job) do update set
         last_scheduled_for = coalesce(excluded.last_scheduled_for, e.last_scheduled_for),
         last_run_id = excluded.last_run_id, last_started_at = excluded.last_started_at,
         last_finished_at = null, last_status = 'running', instance_id = excluded.instance_id, updated_at = now()`,
      [run.job, run.scheduledFor, run.runId, run.at, run.instanceId],
    );
  }

  async finishRun(runId: string, job: string, status: Exclude<RunStatus, 'running'>, at: Date, error?: string): Promise<void> {
    await withRetry(
      () =>
        this.pool.query(`update ops.runs set status = $2, finished_at = $3, error = $4 where run_id = $1 and status = 'running'`, [
          runId,
          status,
          at,
          clip(error),
        ]),
      WRITE_RETRY,
    );
    await this.pool.query(
      `update ops.scheduler_executions set last_finished_at = $3, last_status = $4, updated_at = now() where job = $1 and last_run_id = $2`,
      [job, runId, at, status],
    );
  }

  async startStep(runId: string, step: string, attempt: number, at: Date, logPath: string | null): Promise<void> {
    await withRetry(
      () =>
        this.pool.query(
          // loads_settled_before: where the next cycle's scoped tests start (scheduler/jobs/dbt-args.ts).
          `insert into ops.run_steps (run_id, step, attempt, started_at, status, log_path, loads_settled_before)
           values ($1, $2, $3, $4, 'running', $5, ops.loads_settled_before())
           on conflict (run_id, step, attempt) do nothing`,
          [runId, step, attempt, at, logPath],
        ),
      WRITE_RETRY,
    );
  }

  async finishStep(
    runId: string,
    step: string,
    attempt: number,
    status: Exclude<StepStatus, 'running'>,
    at: Date,
    outputTail: string | undefined,
    error?: string,
  ): Promise<void> {
    await withRetry(
      () =>
        this.pool.query(
          `update ops.run_steps set status = $4, finished_at = $5, output_tail = $6, error = $7 where run_id = $1 and step = $2 and attempt = $3 and status = 'running'`,
          [runId, step, attempt, status, at, clip(outputTail), clip(error)],
        ),
      WRITE_RETRY,
    );
  }

  /**
   * Runs of `job` still marked running when this process has just taken the job's lock can only
   * belong to a process that died (kill -9, host loss): close them so the ledger tells the truth.
   */
  async abandonRunning(job: string, at: Date, reason: string): Promise<number> {
    const { rowCount } = await this.pool.query(
      `with abandoned as (
         update ops.runs set status = 'failed', finished_at = $2, error = $3 where job = $1 and status = 'running' returning run_id
       ), steps as (
         update ops.run_steps s set status = 'failed', finished_at = $2, error = $3
         from abandoned a where s.run_id = a.run_id and s.status = 'running'
       )
       select 1 from abandoned`,
      [job, at, reason],
    );
    await this.pool.query(
      `update ops.scheduler_executions set last_status = 'failed', last_finished_at = $2, updated_at = now() where job = $1 and last_status = 'running'`,
      [job, at],
    );
    return rowCount ?? 0;
  }

  async lastExecutions(): Promise<Map<string, LastExecution>> {
    const { rows } = await this.pool.query<{
      job: string;
      last_scheduled_for: Date | null;
      last_run_id: string | null;
      last_started_at: Date | null;
      last_finished_at: Date | null;
      last_status: string | null;
    }>('select job, last_scheduled_for, last_run_id, last_started_at, last_finished_at, last_status from ops.scheduler_executions');
    return new Map(
      rows.map((r) => [
        r.job,
        {
          job: r.job,
          lastScheduledFor: r.last_scheduled_for,
          lastRunId: r.last_run_id,
          lastStartedAt: r.last_started_at,
          lastFinishedAt: r.last_finished_at,
          lastStatus: r.last_status,
        },
      ]),
    );
  }

  /**
   * The newest succeeded attempt of one step of `job` in a run that succeeded: when it started
   * and the load time its rows were settled before (null if none).
   */
  async lastSucceededStep(job: string, step: string): Promise<StepStart | null> {
    const { rows } = await this.pool.query<{ started_at: Date; loads_settled_before: Date | null }>(
      `select s.started_at, s.loads_settled_before
         from ops.run_steps as s
         join ops.runs as r using (run_id)
        where r.job = $1 and r.status = 'succeeded' and s.step = $2 and s.status = 'succeeded'
        order by s.started_at desc
        limit 1`,
      [job, step],
    );
    const row = rows[0];
    return row ? { startedAt: row.started_at, settledBefore: row.loads_settled_before } : null;
  }

  /**
   * The newest finished attempt of one step of `job` (any run): when it started, the load time
   * its rows were settled before, and whether it succeeded; null when it never finished. A failed
   * newest attempt hides older successes.
   */
  async lastFinishedStep(job: string, step: string): Promise<NightlyBuild> {
    const { rows } = await this.pool.query<{ started_at: Date; loads_settled_before: Date | null; status: string }>(
      `select s.started_at, s.loads_settled_before, s.status
         from ops.run_steps as s
         join ops.runs as r using (run_id)
        where r.job = $1 and s.step = $2 and s.status <> 'running'
        order by s.started_at desc
        limit 1`,
      [job, step],
    );
    const row = rows[0];
    return row ? { startedAt: row.started_at, settledBefore: row.loads_settled_before, succeeded: row.status === 'succeeded' } : null;
  }

  /**
   * Delivery state of the report for a business date (ops.reports_sent is the single source of
   * truth): 'sent', 'sending' (claimed by a process that may have died mid-send), 'unknown'
   * (handed over, acknowledgement lost), 'failed'
   * (a send attempt gave up; a new run may send), or 'none'.
   */
  async reportState(businessDate: string): Promise<'none' | 'sent' | 'sending' | 'unknown' | 'failed'> {
    const { rows } = await this.pool.query<{ status: 'sent' | 'sending' | 'unknown' | 'failed' }>(
      'select status from ops.reports_sent where business_date = $1',
      [businessDate],
    );
    return rows[0]?.status ?? 'none';
  }

  async setInstanceRole(
    instance: { instanceId: string; hostname: string; pid: number },
    role: 'starting' | 'standby' | 'leader' | 'stopped',
    at: Date,
  ): Promise<void> {
    await this.pool.query(
      `insert into ops.scheduler_instances as i (instance_id, hostname, pid, role, started_at, leader_since, heartbeat_at)
       values ($1, $2, $3, $4, $5, case when $4 = 'leader' then $5::timestamptz end, $5)
       on conflict (instance_id) do update set role = excluded.role, heartbeat_at = excluded.heartbeat_at,
         leader_since = case when excluded.role = 'leader' then coalesce(i.leader_since, excluded.heartbeat_at) else null end`,
      [instance.instanceId, instance.hostname, instance.pid, role, at],
    );
  }

  /**
   * Instances that cannot be alive: another 'leader' while the caller holds the leader lock, or
   * any instance whose heartbeat is older than `staleBefore`. Returns how many were stopped.
   */
  async expireInstances(leaderId: string, staleBefore: Date): Promise<number> {
    const { rowCount } = await this.pool.query(
      `update ops.scheduler_instances set role = 'stopped', leader_since = null
        where instance_id <> $1 and role <> 'stopped' and (role = 'leader' or heartbeat_at < $2)`,
      [leaderId, staleBefore],
    );
    return rowCount ?? 0;
  }

  async heartbeat(instanceId: string, at: Date): Promise<void> {
    await this.pool.query('update ops.scheduler_instances set heartbeat_at = $2 where instance_id = $1', [instanceId, at]);
  }
}
