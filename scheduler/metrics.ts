/**
 * The scheduler's Prometheus metrics, observed where every run and step is recorded anyway: a
 * RunLedger that also meters what it writes. Jobs and steps stay unaware of metrics; dbt, gate
 * and report durations and results are their steps' (dbt_build, check_gates, send_report, ...).
 */
import type pg from 'pg';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

import { RunLedger, type LastExecution, type RunStart, type RunStatus, type StepStatus } from './ledger.ts';

const RUN_STATUSES = ['succeeded', 'failed', 'blocked', 'skipped'] as const;
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export interface SchedulerMetrics {
  runs: Counter<'job' | 'status'>;
  runDuration: Histogram<'job' | 'status'>;
  lastStatus: Gauge<'job' | 'status'>;
  lastSuccess: Gauge<'job'>;
  steps: Counter<'step' | 'status'>;
  stepDuration: Histogram<'step' | 'status'>;
  leader: Gauge;
}

export function schedulerMetrics(registry: Registry): SchedulerMetrics {
  return {
    runs: new Counter({
      name: 'shopflow_scheduler_job_runs_total',
      help: 'Job runs finished, by job and status (succeeded, failed, blocked by the gate, skipped).',
      labelNames: ['job', 'status'],
      registers: [registry],
    }),
    runDuration: new Histogram({
      name: 'shopflow_scheduler_job_duration_seconds',
      help: 'Wall time of a job run.',
      labelNames: ['job', 'status'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    lastStatus: new Gauge({
      name: 'shopflow_scheduler_job_last_status',
      help: "1 for the status of the job's last finished run, 0 for the others.",
      labelNames: ['job', 'status'],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: 'shopflow_scheduler_job_last_success_timestamp_seconds',
      help: 'When the job last finished successfully (Unix time); seeded from the ledger at start.',
      labelNames: ['job'],
      registers: [registry],
    }),
    steps: new Counter({
      name: 'shopflow_scheduler_step_attempts_total',
      help: 'Step attempts finished (dbt_build, check_gates, send_report, ...), by status.',
      labelNames: ['step', 'status'],
      registers: [registry],
    }),
    stepDuration: new Histogram({
      name: 'shopflow_scheduler_step_duration_seconds',
      help: 'Wall time of one step attempt: dbt builds, the gates, rendering and sending the report.',
      labelNames: ['step', 'status'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    leader: new Gauge({ name: 'shopflow_scheduler_leader', help: '1 while this scheduler holds the leader lock.', registers: [registry] }),
  };
}

/** A RunLedger that meters every run and step it records. */
export class MeteredLedger extends RunLedger {
  readonly #metrics: SchedulerMetrics;
  readonly #runStarts = new Map<string, number>();
  readonly #stepStarts = new Map<string, number>();

  constructor(pool: pg.Pool, metrics: SchedulerMetrics) {
    super(pool);
    this.#metrics = metrics;
  }

  override async startRun(run: RunStart): Promise<void> {
    await super.startRun(run);
    this.#runStarts.set(run.runId, run.at.getTime());
  }

  override async finishRun(runId: string, job: string, status: Exclude<RunStatus, 'running'>, at: Date, error?: string): Promise<void> {
    await super.finishRun(runId, job, status, at, error);
    const started = this.#runStarts.get(runId);
    this.#runStarts.delete(runId);
    this.#metrics.runs.inc({ job, status });
    if (started !== undefined) this.#metrics.runDuration.observe({ job, status }, Math.max(0, (at.getTime() - started) / 1000));
    for (const s of RUN_STATUSES) this.#metrics.lastStatus.set({ job, status: s }, s === status ? 1 : 0);
    if (status === 'succeeded') this.#metrics.lastSuccess.set({ job }, at.getTime() / 1000);
  }

  override async startStep(runId: string, step: string, attempt: number, at: Date, logPath: string | null): Promise<void> {
    await super.startStep(runId, step, attempt, at, logPath);
    this.#stepStarts.set(`${runId}/${step}/${attempt}`, at.getTime());
  }

  override async finishStep(
    runId: string,
    step: string,
    attempt: number,
    status: Exclude<StepStatus, 'running'>,
    at: Date,
    outputTail: string | undefined,
    error?: string,
  ): Promise<void> {
    await super.finishStep(runId, step, attempt, status, at, outputTail, error);
    const key = `${runId}/${step}/${attempt}`;
    const started = this.#stepStarts.get(key);
    this.#stepStarts.delete(key);
    this.#metrics.steps.inc({ step, status });
    if (started !== undefined) this.#metrics.stepDuration.observe({ step, status }, Math.max(0, (at.getTime() - started) / 1000));
  }

  /** Read at start: seeds the last statuses and successes, so a restarted scheduler does not read as "never succeeded". */
  override async lastExecutions(): Promise<Map<string, LastExecution>> {
    const executions = await super.lastExecutions();
    for (const e of executions.values()) {
      const status = e.lastStatus as (typeof RUN_STATUSES)[number] | 'running' | null;
      if (status && status !== 'running')
        for (const s of RUN_STATUSES) this.#metrics.lastStatus.set({ job: e.job, status: s }, s === status ? 1 : 0);
      if (status === 'succeeded' && e.lastFinishedAt) this.#metrics.lastSuccess.set({ job: e.job }, e.lastFinishedAt.getTime() / 1000);
    }
    return executions;
  }

  override async setInstanceRole(
    instance: { instanceId: string; hostname: string; pid: number },
    role: 'starting' | 'standby' | 'leader' | 'stopped',
    at: Date,
  ): Promise<void> {
    this.#metrics.leader.set(role === 'leader' ? 1 : 0);
    await super.setInstanceRole(instance, role, at);
  }
}
