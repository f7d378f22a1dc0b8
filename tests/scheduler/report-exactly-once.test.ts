// Regression guard: the morning report must reach the inbox exactly once per business day even
// when the scheduler process is killed with SIGKILL around 08:00 and started again: killed in
// the middle of the run (the restart catches up and sends) or right after sending (the restart
// must not send again).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { endpointEnv } from '../helpers/services.ts';
import { testEndpoints } from '../helpers/services.ts';
import { createSchedulerWarehouse, type SchedulerTestWarehouse } from './support/warehouse.ts';

let warehouse: SchedulerTestWarehouse;
const children: ChildProcess[] = [];
const FIXTURE = join(import.meta.dirname, 'fixtures', 'scheduler-process.ts');

beforeAll(async () => {
  warehouse = await createSchedulerWarehouse('exactly_once');
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await warehouse?.drop();
});

function startScheduler(instanceId: string, clockStart: string, reportTo: string, dbtMs: number): ChildProcess {
  const env = {
    ...endpointEnv(testEndpoints()),
    WAREHOUSE_URL: warehouse.adminUrl,
    SCHEDULER_INGESTORS: 'none',
    LOG_LEVEL: 'warn',
    REPORT_TO: reportTo,
    REPORT_CRON: '0 8 * * *',
    SCHEDULER_TZ: 'UTC',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify({ env, instanceId, clockStart, dbtMs })], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('error', () => undefined);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('exit', (code, signal) => {
    if (code && code !== 0 && signal === null) process.stderr.write(`scheduler fixture ${instanceId} exited ${code}: ${stderr}\n`);
  });
  children.push(child);
  return child;
}

async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Messages in the SMTP sink addressed to `recipient` (unique per test). */
async function mailsTo(recipient: string): Promise<number> {
  const dir = testEndpoints().mailDir;
  const files = (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) => String(f).endsWith('.eml'));
  let count = 0;
  for (const file of files) {
    const text = await readFile(join(dir, String(file)), 'utf8').catch(() => '');
    if (text.includes(recipient)) count++;
  }
  return count;
}

describe('exactly one report across kill -9 and restart', () => {
  it('a scheduler killed during the 08:00 run is restarted, catches up and sends once', async () => {
    const recipient = `managers+${warehouse.database}-a@shopflow.local`;
    const first = startScheduler('first', '2024-05-02T07:59:58Z', recipient, 30_000);
    // The report run starts at 08:00 and sits in its (simulated, 30 s) dbt build.
    await waitFor(
      async () =>
        (
          await warehouse.admin.query(
            `select 1 from ops.run_steps s join ops.runs r using (run_id) where r.job = 'report' and s.step = 'dbt_build' and s.status = 'running'`,
          )
        ).rowCount,
      20_000,
      'the report run to reach dbt_build',
    );
    await killHard(first);
    expect(await mailsTo(recipient)).toBe(0);

    const second = startScheduler('second', '2024-05-02T08:01:00Z', recipient, 200);
    await waitFor(
      async () =>
        (await warehouse.admin.query(`select 1 from ops.reports_sent where business_date = '2024-05-01' and status = 'sent'`)).rowCount,
      30_000,
      'the report to be sent',
    );
    await waitFor(async () => (await mailsTo(recipient)) >= 1, 10_000, 'the mail to reach the sink');
    await sleep(1_500); // more ticks: a second send would show up now
    expect(await mailsTo(recipient)).toBe(1);

    const runs = await warehouse.admin.query(
      `select instance_id, trigger, status, error from ops.runs where job = 'report' order by started_at`,
    );
    expect(runs.rows).toHaveLength(2);
    expect(runs.rows[0]).toMatchObject({ instance_id: 'first', trigger: 'schedule', status: 'failed' });
    expect(runs.rows[0].error).toMatch(/abandoned/);
    expect(runs.rows[1]).toMatchObject({ instance_id: 'second', trigger: 'catch-up', status: 'succeeded' });
    await killHard(second);
  });

  it('a scheduler killed right after sending is restarted and does not send again', async () => {
    await warehouse.admin.query(`truncate ops.runs, ops.run_steps, ops.scheduler_executions, ops.reports_sent`);
    const recipient = `managers+${warehouse.database}-b@shopflow.local`;
    const first = startScheduler('third', '2024-05-02T07:59:59Z', recipient, 100);
    await waitFor(
      async () =>
        (await warehouse.admin.query(`select 1 from ops.reports_sent where business_date = '2024-05-01' and status = 'sent'`)).rowCount,
      20_000,
      'the report to be sent',
    );
    await killHard(first);

    startScheduler('fourth', '2024-05-02T08:00:30Z', recipient, 100);
    await waitFor(
      async () =>
        (await warehouse.admin.query(`select 1 from ops.scheduler_instances where instance_id = 'fourth' and role = 'leader'`)).rowCount,
      20_000,
      'the restarted scheduler to lead',
    );
    await sleep(2_000); // many ticks past 08:00 with today's report already sent
    await waitFor(async () => (await mailsTo(recipient)) >= 1, 10_000, 'the mail to reach the sink');
    expect(await mailsTo(recipient)).toBe(1);
    // The restart ran no report. The killed run is closed: 'succeeded' if it finished before the kill,
    // else 'failed' as abandoned (its process is gone), never left 'running'.
    await waitFor(
      async () => (await warehouse.admin.query(`select 1 from ops.runs where status = 'running'`)).rowCount === 0,
      10_000,
      'the killed run to be closed',
    );
    const runs = await warehouse.admin.query(`select instance_id, status, error from ops.runs where job = 'report'`);
    expect(runs.rows.map((r) => r.instance_id)).toEqual(['third']);
    if (runs.rows[0].status !== 'succeeded')
      expect(runs.rows[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/abandoned/) });
  });
});
