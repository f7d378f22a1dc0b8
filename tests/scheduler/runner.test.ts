// Regression guard: a step that fails must be retried with backoff, every attempt must land in
// ops.run_steps, and a step that fails for good must alert naming the job, the step and its log.
import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../lib/logger.ts';
import { CompressedClock } from '../../scheduler/clock.ts';
import { createSchedulerCore, type SchedulerCore } from '../../scheduler/core.ts';
import { DBT_REPORT_ARGS, NIGHTLY_BUILD_STEP } from '../../scheduler/jobs/dbt-args.ts';
import { fakeOperations, type FakeOperations } from './support/fake-operations.ts';
import { createSchedulerWarehouse, type SchedulerTestWarehouse } from './support/warehouse.ts';

let warehouse: SchedulerTestWarehouse;
const logger = createLogger('scheduler-test', 'silent');

beforeAll(async () => {
  warehouse = await createSchedulerWarehouse('runner');
});
afterAll(async () => {
  await warehouse?.drop();
});

async function coreWith(operations: FakeOperations, logDir: string, start = new Date('2024-05-02T07:59:00Z')): Promise<SchedulerCore> {
  return createSchedulerCore({
    config: warehouse.config,
    logger,
    operations,
    instanceId: 'test-runner',
    clock: new CompressedClock(start),
    facts: { fraud: async () => [], lowStock: async () => [] },
    maxAttempts: 3,
    retryMinDelayMs: 5,
    retryMaxDelayMs: 20,
    logDir,
  });
}

describe('JobRunner', () => {
  it('retries a failing step, then succeeds, recording every attempt in the ledger', async () => {
    const operations = fakeOperations({ pool: warehouse.admin, failDbtCalls: [1] });
    const core = await coreWith(operations, await mkdtemp(join(tmpdir(), 'sched-log-')));
    try {
      const result = await core.runJob('microbatch', {
        trigger: 'manual',
        businessDate: '2024-05-02',
        scheduledFor: null,
        signal: new AbortController().signal,
      });
      expect(result.status).toBe('succeeded');
      const steps = await warehouse.admin.query(
        `select step, attempt, status, output_tail, error, log_path from ops.run_steps where run_id = $1 order by attempt`,
        [result.runId],
      );
      expect(steps.rows.map((r) => [r.step, r.attempt, r.status])).toEqual([
        ['dbt_build', 1, 'failed'],
        ['dbt_build', 2, 'succeeded'],
      ]);
      expect(steps.rows[0].error).toMatch(/dbt build/);
      expect(steps.rows[0].output_tail).toMatch(/relation "raw.shop_changes" is locked/);
      expect(await readFile(steps.rows[0].log_path, 'utf8')).toMatch(/call 1/);
      const run = await warehouse.admin.query(
        `select job, status, trigger, business_date::text, finished_at from ops.runs where run_id = $1`,
        [result.runId],
      );
      expect(run.rows[0]).toMatchObject({ job: 'microbatch', status: 'succeeded', trigger: 'manual', business_date: '2024-05-02' });
      expect(run.rows[0].finished_at).not.toBeNull();
      expect(operations.alerts).toEqual([]);
    } finally {
      await core.close();
    }
  });

  // A micro-batch's tests must cover what it changed, not a day of loads: after a backfill the
  // 24-hour window re-tested the whole backfill in every cycle of that day.
  it('a micro-batch after a successful one tests only the rows that one may not have seen', async () => {
    const operations = fakeOperations({ pool: warehouse.admin });
    const core = await coreWith(operations, await mkdtemp(join(tmpdir(), 'sched-log-')));
    try {
      const request = { trigger: 'manual' as const, businessDate: '2024-05-02', scheduledFor: null, signal: new AbortController().signal };
      const first = await core.runJob('microbatch', request);
      expect(first.status).toBe('succeeded');
      // The newest successful micro-batch in this file's ledger: the one just run, or one of an earlier test.
      const { rows } = await warehouse.admin.query<{ loads_settled_before: Date }>(
        `select s.loads_settled_before from ops.run_steps s join ops.runs r using (run_id)
          where r.job = 'microbatch' and r.status = 'succeeded' and s.step = 'dbt_build' and s.status = 'succeeded'
          order by s.started_at desc limit 1`,
      );
      expect(rows[0]!.loads_settled_before).toBeInstanceOf(Date);
      expect((await core.runJob('microbatch', request)).status).toBe('succeeded');
      expect(operations.dbtCalls.at(-1)).toEqual(DBT_REPORT_ARGS);
      expect(operations.dbtTestLoadedSince.at(-1)).toBe(rows[0]!.loads_settled_before.toISOString());
    } finally {
      await core.close();
    }
  });

  // The 08:00 build tested every row of a year of history each morning; the nightly build had
  // just tested them. Only a passed nightly build may stand in for the report's full tests.
  it("the report's build and the next micro-batch test only rows loaded since the newest nightly build, every row when that build failed", async () => {
    // Calls 1-3: the nightly build fails on every attempt; later calls succeed.
    const operations = fakeOperations({ pool: warehouse.admin, failDbtCalls: [1, 2, 3] });
    // A clock past every other test's in this file's ledger: these runs are the newest.
    const core = await coreWith(operations, await mkdtemp(join(tmpdir(), 'sched-log-')), new Date('2024-07-01T01:00:00Z'));
    const request = { trigger: 'manual' as const, scheduledFor: null, signal: new AbortController().signal };
    try {
      expect((await core.runJob('nightly', { ...request, businessDate: '2024-07-01' })).status).toBe('failed');
      expect((await core.runJob('report', { ...request, businessDate: '2024-07-01' })).status).toBe('succeeded');
      expect(operations.dbtCalls.at(-1)).toEqual(DBT_REPORT_ARGS);
      expect(operations.dbtTestLoadedSince.at(-1)).toBeUndefined();

      const nightly = await core.runJob('nightly', { ...request, businessDate: '2024-07-02' });
      expect(nightly.status).toBe('succeeded');
      const { rows } = await warehouse.admin.query<{ loads_settled_before: Date }>(
        'select loads_settled_before from ops.run_steps where run_id = $1 and step = $2 and status = $3',
        [nightly.runId, NIGHTLY_BUILD_STEP, 'succeeded'],
      );
      expect(rows).toHaveLength(1);
      expect((await core.runJob('report', { ...request, businessDate: '2024-07-02' })).status).toBe('succeeded');
      expect(operations.dbtCalls.at(-1)).toEqual(DBT_REPORT_ARGS);
      const sinceNightly = rows[0]!.loads_settled_before.toISOString();
      expect(operations.dbtTestLoadedSince.at(-1)).toBe(sinceNightly);

      // The micro-batch too: the passed nightly build is newer than any micro-batch of this ledger.
      const microbatch = await core.runJob('microbatch', { ...request, businessDate: '2024-07-02' });
      expect(microbatch.status).toBe('succeeded');
      expect(operations.dbtTestLoadedSince.at(-1)).toBe(sinceNightly);
      // And the cycle after it, from that micro-batch.
      const { rows: cycle } = await warehouse.admin.query<{ loads_settled_before: Date }>(
        `select loads_settled_before from ops.run_steps where run_id = $1 and step = 'dbt_build'`,
        [microbatch.runId],
      );
      expect((await core.runJob('microbatch', { ...request, businessDate: '2024-07-02' })).status).toBe('succeeded');
      expect(operations.dbtTestLoadedSince.at(-1)).toBe(cycle[0]!.loads_settled_before.toISOString());
    } finally {
      await core.close();
    }
  });

  it('alerts once, naming the step and its log, when a step fails on every attempt', async () => {
    const operations = fakeOperations({ pool: warehouse.admin, dbtAlwaysFails: true });
    const core = await coreWith(operations, await mkdtemp(join(tmpdir(), 'sched-log-')));
    try {
      const result = await core.runJob('report', {
        trigger: 'manual',
        businessDate: '2024-05-03',
        scheduledFor: null,
        signal: new AbortController().signal,
      });
      expect(result).toMatchObject({ status: 'failed', failedStep: 'dbt_build' });
      expect(operations.dbtCalls).toHaveLength(3);
      const steps = await warehouse.admin.query(
        `select step, attempt, status, log_path from ops.run_steps where run_id = $1 order by started_at, attempt`,
        [result.runId],
      );
      expect(steps.rows.map((r) => `${r.step}#${r.attempt}:${r.status}`)).toEqual([
        'check_not_sent#1:succeeded',
        'dbt_build#1:failed',
        'dbt_build#2:failed',
        'dbt_build#3:failed',
      ]);
      expect(operations.alerts).toHaveLength(1);
      const [alert] = operations.alerts;
      expect(alert!.kind).toBe('step_failed');
      expect(alert!.subject).toContain('step dbt_build failed');
      expect(alert!.text).toContain(steps.rows[3].log_path);
      expect(alert!.text).toContain('relation "raw.shop_changes" is locked');
      const run = await warehouse.admin.query(`select status, error from ops.runs where run_id = $1`, [result.runId]);
      expect(run.rows[0].status).toBe('failed');
      expect(run.rows[0].error).toMatch(/step dbt_build failed after 3 attempt/);
      expect(operations.reports).toEqual([]);
    } finally {
      await core.close();
    }
  });

  it('blocks the report and sends the gate alert when a gate fails, without retrying the gate', async () => {
    const operations = fakeOperations({ pool: warehouse.admin, gatesPass: false });
    const core = await coreWith(operations, await mkdtemp(join(tmpdir(), 'sched-log-')));
    try {
      const result = await core.runJob('report', {
        trigger: 'manual',
        businessDate: '2024-05-04',
        scheduledFor: null,
        signal: new AbortController().signal,
      });
      expect(result.status).toBe('blocked');
      expect(operations.alerts.map((a) => a.kind)).toEqual(['gate_failed']);
      expect(operations.reports).toEqual([]);
      const steps = await warehouse.admin.query(`select step from ops.run_steps where run_id = $1 order by started_at`, [result.runId]);
      expect(steps.rows.map((r) => r.step)).toEqual(['check_not_sent', 'dbt_build', 'gate_raw', 'gate_marts', 'check_gates']);
    } finally {
      await core.close();
    }
  });

  it("ends the nightly run with the raw gate's full pass; a failed pass fails the run once, unretried, and alerts", async () => {
    const passing = fakeOperations({ pool: warehouse.admin });
    const failing = fakeOperations({ pool: warehouse.admin, gatesPass: false });
    const request = { trigger: 'manual' as const, scheduledFor: null, signal: new AbortController().signal };
    for (const [operations, businessDate, status] of [
      [passing, '2024-05-05', 'succeeded'],
      [failing, '2024-05-06', 'failed'],
    ] as const) {
      const core = await coreWith(operations, await mkdtemp(join(tmpdir(), 'sched-log-')));
      try {
        const result = await core.runJob('nightly', { ...request, businessDate });
        expect(result.status).toBe(status);
        expect(operations.gateCalls).toEqual([{ gate: 'raw', scope: 'full' }]);
        const steps = await warehouse.admin.query(
          `select step, status, error from ops.run_steps where run_id = $1 and step = 'gate_raw_full'`,
          [result.runId],
        );
        expect(steps.rows).toHaveLength(1);
        expect(steps.rows[0].status).toBe(status);
        if (status === 'failed') {
          expect(steps.rows[0].error).toContain('npm run gate -- --gate raw --full');
          expect(operations.alerts).toHaveLength(1);
        }
      } finally {
        await core.close();
      }
    }
  });

  it('skips the report when ops.reports_sent already has the business date', async () => {
    const operations = fakeOperations({ pool: warehouse.admin });
    const core = await coreWith(operations, null as unknown as string);
    try {
      const first = await core.runJob('report', {
        trigger: 'manual',
        businessDate: '2024-05-05',
        scheduledFor: null,
        signal: new AbortController().signal,
      });
      const second = await core.runJob('report', {
        trigger: 'manual',
        businessDate: '2024-05-05',
        scheduledFor: null,
        signal: new AbortController().signal,
      });
      expect([first.status, second.status]).toEqual(['succeeded', 'skipped']);
      expect(operations.reports).toEqual(['2024-05-05']);
      expect(operations.dbtCalls).toHaveLength(1);
    } finally {
      await core.close();
    }
  });
});
