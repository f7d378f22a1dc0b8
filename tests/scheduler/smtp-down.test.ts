// Regression guard: with SMTP down at 08:00 the daemon recorded the report and its alerts as
// failed and never tried again: the report went out only if someone restarted the scheduler
// before midnight, and the alerts were lost. Now the day's report is retried with backoff and
// undelivered alerts wait in the outbox; when SMTP comes back (no restart) the report is
// delivered once and every alert once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { stableMessageId } from '../../lib/mail/alert.ts';
import { endpointEnv, testEndpoints } from '../helpers/services.ts';
import { startCaptureSmtp, type CaptureSmtp } from '../report/support/smtp.ts';
import { createSchedulerWarehouse, type SchedulerTestWarehouse } from './support/warehouse.ts';

let warehouse: SchedulerTestWarehouse;
let smtp: CaptureSmtp;
const children: ChildProcess[] = [];
const FIXTURE = join(import.meta.dirname, 'fixtures', 'scheduler-process.ts');

beforeAll(async () => {
  warehouse = await createSchedulerWarehouse('smtp_down');
  smtp = await startCaptureSmtp({ dir: mkdtempSync(join(tmpdir(), 'shopflow-smtp-down-')) });
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await smtp?.close();
  await warehouse?.drop();
});

async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('SMTP down at 08:00, back later the same day', () => {
  it('the daemon sends the report once and delivers each alert once, without a restart', async () => {
    smtp.setDown(true);
    const env = {
      ...endpointEnv(testEndpoints()),
      WAREHOUSE_URL: warehouse.adminUrl,
      SMTP_URL: smtp.url,
      SCHEDULER_INGESTORS: 'none',
      LOG_LEVEL: 'warn',
      REPORT_CRON: '0 8 * * *',
      SCHEDULER_TZ: 'UTC',
      SCHEDULER_STEP_ATTEMPTS: '2',
    };
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        FIXTURE,
        JSON.stringify({ env, instanceId: 'only', clockStart: '2024-05-02T07:59:58Z', dbtMs: 100, fastMail: true }),
      ],
      {
        cwd: join(import.meta.dirname, '..', '..'),
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
    child.on('error', () => undefined);
    children.push(child);

    // The 08:00 run fails (SMTP refuses at the greeting), its step-failure alert is kept in the outbox,
    // and the report is tried again (trigger 'retry') while SMTP stays down.
    await waitFor(
      async () =>
        (await warehouse.admin.query(`select 1 from ops.runs where job = 'report' and trigger = 'retry' and status = 'failed'`)).rowCount,
      60_000,
      'a retried report run to fail too',
    );
    const pending = await warehouse.admin.query(`select alert_key, status from ops.alerts_sent order by alert_key`);
    expect(pending.rows.length).toBeGreaterThan(0);
    // Waiting in the outbox ('failed'), or being tried right now ('sending'): none delivered while SMTP is down.
    expect(pending.rows.filter((r) => r.status !== 'failed' && r.status !== 'sending')).toEqual([]);
    expect(smtp.messages).toHaveLength(0);

    smtp.setDown(false);
    await waitFor(
      async () =>
        (await warehouse.admin.query(`select 1 from ops.reports_sent where business_date = '2024-05-01' and status = 'sent'`)).rowCount,
      60_000,
      'the report to be sent',
    );
    await waitFor(
      async () => (await warehouse.admin.query(`select 1 from ops.alerts_sent where status <> 'sent'`)).rowCount === 0,
      30_000,
      'every alert to be delivered',
    );
    await sleep(2_000); // more ticks, outbox flushes and retries: a duplicate would show now

    const alerts = await warehouse.admin.query<{ alert_key: string }>(`select alert_key from ops.alerts_sent order by alert_key`);
    const perAlert = Object.fromEntries(alerts.rows.map((r) => [r.alert_key, smtp.countMessageId(stableMessageId('alert', r.alert_key))]));
    const reports = smtp.countMessageId(stableMessageId('report', '2024-05-01'));
    process.stdout.write(
      `smtp-down: reports for 2024-05-01 in the server: ${reports}; alerts delivered per key: ${JSON.stringify(perAlert)}\n`,
    );
    expect(reports).toBe(1);
    expect(Object.values(perAlert).every((n) => n === 1)).toBe(true);
    expect(smtp.messages).toHaveLength(1 + alerts.rows.length);
    const runs = await warehouse.admin.query(`select trigger, status from ops.runs where job = 'report' order by started_at`);
    expect(runs.rows[0]).toMatchObject({ trigger: 'schedule', status: 'failed' });
    expect(runs.rows.at(-1)).toMatchObject({ trigger: 'retry', status: 'succeeded' });
    expect((await warehouse.admin.query(`select 1 from ops.runs where status = 'running'`)).rowCount).toBe(0);
  });
});
