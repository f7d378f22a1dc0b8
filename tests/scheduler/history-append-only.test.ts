// Regression guard: ops_writer (the role the scheduler and mailer run as) could rewrite run
// history: flip a failed run to succeeded, delete runs, or mark an unsent report as sent. Each
// forbidden act below is tried as ops_writer and must be refused by the database itself.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl } from '../../lib/config/index.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';

let warehouse: TestWarehouse;
let ops: pg.Client;

const RUN = '00000000-0000-4000-8000-000000000001';
const LIVE = '00000000-0000-4000-8000-000000000002';

beforeAll(async () => {
  warehouse = await createTestWarehouse('history');
  ops = new pg.Client({ connectionString: roleUrl(warehouse.config, 'ops_writer') });
  ops.on('error', () => undefined);
  await ops.connect();
  // Legal history, written the way the scheduler writes it.
  await ops.query(
    `insert into ops.runs (run_id, job, trigger, business_date, status) values ($1, 'report', 'schedule', '2026-02-01', 'running')`,
    [RUN],
  );
  await ops.query(`insert into ops.run_steps (run_id, step, attempt, status) values ($1, 'dbt_build', 1, 'running')`, [RUN]);
  await ops.query(`update ops.run_steps set status = 'failed', finished_at = now(), error = 'dbt failed' where run_id = $1`, [RUN]);
  await ops.query(`update ops.runs set status = 'failed', finished_at = now(), error = 'dbt failed' where run_id = $1`, [RUN]);
  await ops.query(
    `insert into ops.runs (run_id, job, trigger, business_date, status) values ($1, 'report', 'schedule', '2026-02-02', 'running')`,
    [LIVE],
  );
  await ops.query(
    `insert into ops.run_steps (run_id, step, attempt, status, loads_settled_before) values ($1, 'dbt_build', 1, 'running', ops.loads_settled_before())`,
    [LIVE],
  );
  await ops.query(
    `insert into ops.reports_sent (business_date, recipients, status, claim_token, claimed_at, attempts) values ('2026-02-01', 'm', 'sending', gen_random_uuid(), now(), 1)`,
  );
  await ops.query(`update ops.reports_sent set status = 'unknown' where business_date = '2026-02-01'`);
  await ops.query(
    `insert into ops.reports_sent (business_date, recipients, status, sent_at, attempts) values ('2026-02-02', 'm', 'sent', now(), 1)`,
  );
  await ops.query(`insert into ops.alerts_sent (alert_key, kind, subject, status, sent_at) values ('a:1', 'x', 's', 'sent', now())`);
  await ops.query(`insert into ops.gate_results (gate, success, evaluated, failed, summary) values ('marts', false, 3, 1, '{}')`);
});
afterAll(async () => {
  await ops?.end();
  await warehouse?.drop();
});

describe('run history is append-only for ops_writer', () => {
  it.each([
    ['turn a failed run into a success', `update ops.runs set status = 'succeeded', error = null where run_id = '${RUN}'`],
    ['change what a finished run was for', `update ops.runs set business_date = '2026-01-01' where run_id = '${RUN}'`],
    ["rewrite a running run's identity", `update ops.runs set job = 'nightly' where run_id = '${LIVE}'`],
    ['reopen a finished run', `update ops.runs set status = 'running', finished_at = null where run_id = '${RUN}'`],
    ['delete a run', `delete from ops.runs where run_id = '${RUN}'`],
    ['truncate the runs', `truncate ops.runs cascade`],
    ['rewrite a finished step', `update ops.run_steps set status = 'succeeded' where run_id = '${RUN}'`],
    ['delete steps', `delete from ops.run_steps`],
    [
      "move a running step's settled point (where the next cycle's tests start)",
      `update ops.run_steps set loads_settled_before = now() - interval '1 day' where run_id = '${LIVE}'`,
    ],
    [
      'claim an unknown report again without settling it',
      `update ops.reports_sent set status = 'sending' where business_date = '2026-02-01'`,
    ],
    ['un-send a sent report', `update ops.reports_sent set status = 'failed' where business_date = '2026-02-02'`],
    ['move a report to another day', `update ops.reports_sent set business_date = '2026-03-01' where business_date = '2026-02-02'`],
    ['delete a sent report', `delete from ops.reports_sent where business_date = '2026-02-02'`],
    ['un-send an alert', `update ops.alerts_sent set status = 'failed' where alert_key = 'a:1'`],
    ['delete an alert', `delete from ops.alerts_sent`],
    ['rewrite a gate result', `update ops.gate_results set success = true`],
    ['delete gate results', `delete from ops.gate_results`],
    ['drop the guard', `drop trigger runs_append_only on ops.runs`],
    ['disable the guard', `alter table ops.runs disable trigger runs_append_only`],
  ])('refuses: %s', async (_what, sql) => {
    const error = await ops.query(sql).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(error, sql).toBeDefined();
    // 42501 insufficient_privilege (a grant or the transition guard), 42883/42P01 cannot reach it.
    expect(['42501'], sql).toContain(error!.code);
  });

  it('still allows what the scheduler does: finish a running run, settle an unknown report', async () => {
    await ops.query(`update ops.runs set status = 'failed', finished_at = now(), error = 'abandoned' where run_id = $1`, [LIVE]);
    await ops.query(
      `update ops.reports_sent set status = 'sent', resolved_at = now(), resolution = 'found' where business_date = '2026-02-01'`,
    );
    const { rows } = await ops.query(`select status from ops.runs where run_id = $1`, [LIVE]);
    expect(rows[0].status).toBe('failed');
  });
});
