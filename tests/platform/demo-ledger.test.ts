/**
 * `npm run demo` records itself in the run ledger (scripts/demo/ledger.ts), as ops_writer and
 * through the append-only guards on ops.runs and ops.run_steps: the Data operations run charts
 * were empty after the demo because nothing but the scheduler wrote there. Checked against a
 * real, migrated warehouse: a succeeding and a failing step, and the run's outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_JOB, DemoRun } from '../../scripts/demo/ledger.ts';
import { withPg } from '../dbt/helpers.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';

describe('the demo in the run ledger', () => {
  let warehouse: TestWarehouse;

  beforeAll(async () => {
    warehouse = await createTestWarehouse('demo_ledger');
  }, 120_000);

  afterAll(async () => {
    await warehouse?.drop();
  });

  it('records each step with its outcome and the run as failed with the reason, as job demo', async () => {
    const run = await DemoRun.start(warehouse.config);
    try {
      expect(await run.step('generate', async () => 42)()).toBe(42);
      await expect(run.step('dbt-build', () => Promise.reject(new Error('dbt build failed: 2 tests')))()).rejects.toThrow('2 tests');
      await run.finish('failed', 'dbt build failed: 2 tests');
      await run.finish('succeeded'); // a second finish changes nothing
    } finally {
      await run.close();
    }
    await withPg(warehouse.adminUrl, async (client) => {
      const runs = await client.query(`select job, trigger, status, error, finished_at is not null as finished from ops.runs`);
      expect(runs.rows).toEqual([
        { job: DEMO_JOB, trigger: 'manual', status: 'failed', error: 'dbt build failed: 2 tests', finished: true },
      ]);
      const steps = await client.query(`select step, attempt, status, error from ops.run_steps order by started_at, step`);
      expect(steps.rows).toEqual([
        { step: 'generate', attempt: 1, status: 'succeeded', error: null },
        { step: 'dbt-build', attempt: 1, status: 'failed', error: 'dbt build failed: 2 tests' },
      ]);
    });
  });

  it('records a run whose steps all pass as succeeded', async () => {
    const run = await DemoRun.start(warehouse.config);
    try {
      await run.step('report', async () => undefined)();
      await run.finish('succeeded');
    } finally {
      await run.close();
    }
    await withPg(warehouse.adminUrl, async (client) => {
      const { rows } = await client.query(`select status from ops.runs where job = $1 order by started_at desc limit 1`, [DEMO_JOB]);
      expect(rows).toEqual([{ status: 'succeeded' }]);
    });
  });
});
