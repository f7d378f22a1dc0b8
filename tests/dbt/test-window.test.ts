/**
 * The scheduler scopes a cycle's data tests to the rows loaded since a point in time
 * (dbt/macros/test_window.sql). It passes that time in the environment
 * (SHOPFLOW_TEST_LOADED_SINCE), not as --vars: a changed var makes dbt re-parse the whole
 * project, 25 s more per cycle on a loaded machine, and the time changes on every cycle.
 *
 * One raw event with an unknown type, loaded 30 minutes ago; the source test on event_type
 * (a warning, scoped by __recent_rows__(_loaded_at)) finds it when it reads that row and not
 * otherwise.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { dbtRunner, withPg } from './helpers.ts';

const TEST = ['test', '--select', 'source:clickstream.shop_events,test_name:accepted_values'];
const FULL_REPARSE = /Unable to do partial parsing/;

describe('data tests scoped by load time', () => {
  let warehouse: TestWarehouse;
  let runner: ReturnType<typeof dbtRunner>;
  let loadedAt: Date;

  beforeAll(async () => {
    warehouse = await createTestWarehouse('dbt_test_window');
    runner = dbtRunner(warehouse.config);
    loadedAt = await withPg(warehouse.config.WAREHOUSE_URL, async (client) => {
      const { rows } = await client.query<{ loaded_at: Date }>(
        `insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, _loaded_at)
         values ('shop.events', 0, 0, 'k', 'e-unknown-type', 'teleported', now() - interval '31 minutes', now() - interval '30 minutes')
         returning _loaded_at as loaded_at`,
      );
      return rows[0]!.loaded_at;
    });
  });

  afterAll(async () => {
    runner?.cleanup();
    await warehouse?.drop();
  });

  const status = () => {
    const results = JSON.parse(readFileSync(join(runner.targetPath, 'run_results.json'), 'utf8')) as {
      results: Array<{ unique_id: string; status: string }>;
    };
    expect(results.results).toHaveLength(1);
    return results.results[0]!.status;
  };
  const at = (minutesFromLoad: number) => new Date(loadedAt.getTime() + minutesFromLoad * 60_000).toISOString();

  it('tests only the rows loaded since SHOPFLOW_TEST_LOADED_SINCE, and keeps the partial parse when it changes', async () => {
    await runner.dbt(TEST);
    expect(status(), 'unscoped: every row').toBe('warn');

    const after = await runner.dbt(TEST, undefined, { testLoadedSince: at(1) });
    expect(status(), 'loaded before the window').toBe('pass');
    const before = await runner.dbt(TEST, undefined, { testLoadedSince: at(-1) });
    expect(status(), 'loaded inside the window').toBe('warn');
    for (const run of [after, before]) expect(run.outputTail).not.toMatch(FULL_REPARSE);

    // The var scopes the same way, at the price of a full re-parse (what the environment avoids).
    const byVar = await runner.dbt(TEST, { test_loaded_since: at(1) });
    expect(status(), 'the var, loaded before the window').toBe('pass');
    expect(byVar.outputTail).toMatch(FULL_REPARSE);
  }, 600_000);

  it('looks up the change-log bound once per invocation, not once per scoped test', async () => {
    await runner.dbt(['build', '--select', '+path:models/staging/shop', '--exclude', 'resource_type:unit_test'], undefined, {
      testLoadedSince: at(-1),
    });
    const results = JSON.parse(readFileSync(join(runner.targetPath, 'run_results.json'), 'utf8')) as {
      results: Array<{ unique_id: string; compiled_code?: string }>;
    };
    // Scoped by change-log position: `<column> >= <first change id>`, or `false` when no change was loaded since.
    const scoped = results.results.filter(
      (r) => r.unique_id.startsWith('test.') && /where (?:\w+ >= \d+|false)\) dbt_subquery/.test(r.compiled_code ?? ''),
    );
    expect(scoped.length, 'tests scoped by change-log position').toBeGreaterThan(10);
    // dbt's debug log holds every statement it ran; the bound's query is the only one with this text.
    const log = readFileSync(join(dirname(runner.targetPath), 'logs', 'dbt.log'), 'utf8');
    const lastRun = log.slice(log.lastIndexOf('Running with dbt='));
    // Once per invocation; with 2 threads, two tests compiling at the same moment may both look
    // it up before either stores it. Once per test would be one per scoped test.
    const lookups = (lastRun.match(/select min\(first_id\)::text from \(/g) ?? []).length;
    expect(lookups).toBeGreaterThanOrEqual(1);
    expect(lookups).toBeLessThanOrEqual(2);
  }, 600_000);
});
