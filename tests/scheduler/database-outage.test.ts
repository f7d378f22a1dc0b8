// Regression guard: Postgres stopping in the middle of `--once report` made it exit at once, with
// no retry and no alert, and left the run 'running' in the ledger. Postgres here is the shared
// test server behind a TCP proxy this test cuts (other test files keep using the server).
// Each case ends by counting the reports for the business date in the SMTP sink: exactly one.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { endpointEnv, testEndpoints } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { createSchedulerWarehouse, type SchedulerTestWarehouse } from './support/warehouse.ts';

let warehouse: SchedulerTestWarehouse;
let proxy: TcpProxy;
const FIXTURE = join(import.meta.dirname, 'fixtures', 'once-process.ts');

beforeAll(async () => {
  warehouse = await createSchedulerWarehouse('db_outage');
  const target = new URL(warehouse.adminUrl);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
});
afterAll(async () => {
  await proxy?.close();
  await warehouse?.drop();
});

function runOnce(
  label: string,
  dataDir: string,
  date: string,
  dbtMs: number,
  retry: { maxAttempts: number; minDelayMs: number; maxDelayMs: number },
) {
  const env = {
    ...endpointEnv(testEndpoints()),
    WAREHOUSE_URL: proxy.via(warehouse.adminUrl),
    SCHEDULER_INGESTORS: 'none',
    LOG_LEVEL: 'warn',
    SHOPFLOW_DATA_DIR: dataDir,
    REPORT_TO: `managers+${warehouse.database}-${label}@shopflow.local`,
    ALERT_TO: `data-team+${warehouse.database}-${label}@shopflow.local`,
    SCHEDULER_STEP_ATTEMPTS: '3',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify({ env, date, dbtMs, retry })], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('error', () => undefined);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  return { env, exited };
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

async function mailsTo(recipient: string, containing = ''): Promise<number> {
  const dir = testEndpoints().mailDir;
  const files = (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) => String(f).endsWith('.eml'));
  let count = 0;
  for (const file of files) {
    const text = await readFile(join(dir, String(file)), 'utf8').catch(() => '');
    if (text.includes(recipient) && text.includes(containing)) count++;
  }
  return count;
}

describe('the warehouse going away during --once report', () => {
  it('a short outage mid-run is retried: the run completes, nothing stays running, one report', async () => {
    const date = '2024-06-01';
    const dataDir = mkdtempSync(join(tmpdir(), 'shopflow-once-'));
    const run = runOnce('a', dataDir, date, 4_000, { maxAttempts: 6, minDelayMs: 500, maxDelayMs: 2_000 });
    await waitFor(
      async () =>
        (
          await warehouse.admin.query(
            `select 1 from ops.run_steps s join ops.runs r using (run_id) where r.business_date = $1 and s.step = 'dbt_build' and s.status = 'running'`,
            [date],
          )
        ).rowCount,
      30_000,
      'the run to reach dbt_build',
    );
    await proxy.cut();
    await sleep(3_000);
    await proxy.restore();
    const { code, output } = await run.exited;
    expect(code, output).toBe(0);

    const running = await warehouse.admin.query(`select run_id from ops.runs where status = 'running'`);
    expect(running.rows).toEqual([]);
    const runs = await warehouse.admin.query(`select status from ops.runs where business_date = $1 order by started_at`, [date]);
    expect(runs.rows.at(-1)).toMatchObject({ status: 'succeeded' });
    expect(runs.rows.length).toBeGreaterThan(1);
    const reports = await mailsTo(run.env.REPORT_TO);
    process.stdout.write(
      `database-outage (3 s mid-run): runs ${JSON.stringify(runs.rows.map((r) => r.status))}, reports for ${date} in the sink: ${reports}\n`,
    );
    expect(reports).toBe(1);
    // Short enough for the retries: no outage alert.
    expect(existsSync(join(dataDir, 'scheduler', 'outage.json'))).toBe(false);
    expect(await mailsTo(run.env.ALERT_TO)).toBe(0);
  });

  it('an outage outlasting the retries fails the run, and the next run alerts about it once and sends the report once', async () => {
    const date = '2024-06-02';
    const dataDir = mkdtempSync(join(tmpdir(), 'shopflow-once-'));
    await proxy.cut();
    const failed = runOnce('b', dataDir, date, 200, { maxAttempts: 2, minDelayMs: 200, maxDelayMs: 400 });
    const first = await failed.exited;
    expect(first.code, first.output).toBe(1);
    expect(existsSync(join(dataDir, 'scheduler', 'outage.json'))).toBe(true);
    await proxy.restore();

    const again = runOnce('b', dataDir, date, 200, { maxAttempts: 2, minDelayMs: 200, maxDelayMs: 400 });
    const second = await again.exited;
    expect(second.code, second.output).toBe(0);
    expect(existsSync(join(dataDir, 'scheduler', 'outage.json'))).toBe(false);
    await waitFor(async () => (await mailsTo(again.env.ALERT_TO)) >= 1, 10_000, 'the outage alert');
    const reports = await mailsTo(again.env.REPORT_TO);
    const alerts = await mailsTo(again.env.ALERT_TO, 'unreachable');
    process.stdout.write(`database-outage (longer than retries): reports for ${date} in the sink: ${reports}, outage alerts: ${alerts}\n`);
    expect(reports).toBe(1);
    expect(alerts).toBe(1);
    expect((await warehouse.admin.query(`select run_id from ops.runs where status = 'running'`)).rows).toEqual([]);
  });

  it('the daemon rides out an outage in the middle of the 08:00 run: one report, one outage alert, nothing left running', async () => {
    const label = 'daemon';
    const env = {
      ...endpointEnv(testEndpoints()),
      WAREHOUSE_URL: proxy.via(warehouse.adminUrl),
      SCHEDULER_INGESTORS: 'none',
      LOG_LEVEL: 'warn',
      SHOPFLOW_DATA_DIR: mkdtempSync(join(tmpdir(), 'shopflow-daemon-')),
      REPORT_TO: `managers+${warehouse.database}-${label}@shopflow.local`,
      ALERT_TO: `data-team+${warehouse.database}-${label}@shopflow.local`,
      REPORT_CRON: '0 8 * * *',
      SCHEDULER_TZ: 'UTC',
    };
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'fixtures', 'scheduler-process.ts'),
        JSON.stringify({ env, instanceId: 'daemon', clockStart: '2024-05-02T07:59:58Z', dbtMs: 3_000, outageAlertAfterMs: 2_000 }),
      ],
      { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'ignore', 'ignore'] },
    );
    child.on('error', () => undefined);
    try {
      await waitFor(
        async () =>
          (
            await warehouse.admin.query(
              `select 1 from ops.run_steps s join ops.runs r using (run_id) where r.instance_id = 'daemon' and s.step = 'dbt_build' and s.status = 'running'`,
            )
          ).rowCount,
        30_000,
        'the 08:00 run to reach dbt_build',
      );
      await proxy.cut();
      await sleep(4_000);
      await proxy.restore();
      await waitFor(
        async () =>
          (await warehouse.admin.query(`select 1 from ops.reports_sent where business_date = '2024-05-01' and status = 'sent'`)).rowCount,
        60_000,
        'the report to be sent',
      );
      await waitFor(async () => (await mailsTo(env.ALERT_TO, 'unreachable')) >= 1, 20_000, 'the outage alert');
      await waitFor(
        async () =>
          (await warehouse.admin.query(`select 1 from ops.runs where instance_id = 'daemon' and status = 'running'`)).rowCount === 0,
        20_000,
        'no run left running',
      );
      await sleep(1_500);
      const reports = await mailsTo(env.REPORT_TO);
      const alerts = await mailsTo(env.ALERT_TO, 'unreachable');
      const runs = await warehouse.admin.query(
        `select status from ops.runs where instance_id = 'daemon' and job = 'report' order by started_at`,
      );
      process.stdout.write(
        `database-outage (daemon, 4 s mid-run): runs ${JSON.stringify(runs.rows.map((r) => r.status))}, reports for 2024-05-01 in the sink: ${reports}, outage alerts: ${alerts}\n`,
      );
      expect(reports).toBe(1);
      expect(alerts).toBe(1);
      expect(runs.rows.at(-1)).toMatchObject({ status: 'succeeded' });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
