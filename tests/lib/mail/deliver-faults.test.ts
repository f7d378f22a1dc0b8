// Regression guard: a mail server that stored the morning report but acknowledged it after the
// client's timeout received it four times (and the ledger said 'failed'); an alert lost while
// SMTP was down stayed lost. Each fault below ends with exactly one copy per key in the server.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl } from '../../../lib/config/index.ts';
import { flushAlertOutbox, queueAlert, sendAlert, stableMessageId } from '../../../lib/mail/alert.ts';
import { deliverOnce, DeliveryUnknownError } from '../../../lib/mail/deliver.ts';
import { resolveDelivery } from '../../../lib/mail/ledger.ts';
import { EmlFolderProbe } from '../../../lib/mail/mailbox.ts';
import { MailDeliveryError } from '../../../lib/mail/transport.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { startCaptureSmtp, type CaptureSmtp, type SmtpFault } from '../../report/support/smtp.ts';

const FAST = { minDelayMs: 10, maxDelayMs: 30, maxAttempts: 3 };
const TIMEOUTS = { socketMs: 1_000 };

let warehouse: TestWarehouse;
let admin: pg.Pool;
let ops: pg.Pool;
const servers: CaptureSmtp[] = [];
/** Reports per business date and alerts per key found in the servers, printed for the record. */
const counts: Record<string, number> = {};

beforeAll(async () => {
  warehouse = await createTestWarehouse('mail_faults');
  admin = new pg.Pool({ connectionString: warehouse.adminUrl, max: 2 });
  admin.on('error', () => undefined);
  ops = new pg.Pool({ connectionString: roleUrl(warehouse.config, 'ops_writer'), max: 2 });
  ops.on('error', () => undefined);
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(async () => {
  process.stdout.write(`delivery fault counts (copies in the mail server per key): ${JSON.stringify(counts)}\n`);
  await ops?.end();
  await admin?.end();
  await warehouse?.drop();
});

async function smtp(faults: SmtpFault[]): Promise<CaptureSmtp & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'shopflow-mailbox-'));
  const server = await startCaptureSmtp({ faults, ackDelayMs: 2_500, dir });
  servers.push(server);
  return Object.assign(server, { dir });
}

async function status(date: string): Promise<{ status: string; attempts: number } | undefined> {
  const { rows } = await admin.query('select status, attempts from ops.reports_sent where business_date = $1', [date]);
  return rows[0] as { status: string; attempts: number } | undefined;
}

function report(date: string) {
  return {
    from: 'reports@shopflow.local',
    to: 'managers@shopflow.local',
    subject: `Report ${date}`,
    text: 'figures',
    messageId: stableMessageId('report', date),
  };
}

describe('a report whose acknowledgement is lost', () => {
  it('without a readable mailbox: recorded unknown, never re-sent automatically, settled by the operator', async () => {
    const date = '2026-01-01';
    const server = await smtp(['delay-ack']);
    const config = { SMTP_URL: server.url };
    const first = await deliverOnce(config, ops, { kind: 'report', businessDate: date }, report(date), {
      retry: FAST,
      timeouts: TIMEOUTS,
    }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(DeliveryUnknownError);
    expect((first as Error).message).toContain(`--resolve sent --date ${date}`);
    expect(await status(date)).toMatchObject({ status: 'unknown', attempts: 1 });
    // A second run (the scheduler's next attempt) must not hand it over again.
    const second = await deliverOnce(config, ops, { kind: 'report', businessDate: date }, report(date), {
      retry: FAST,
      timeouts: TIMEOUTS,
    }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DeliveryUnknownError);
    expect(server.attempts()).toBe(1);
    // The operator finds it in the mailbox.
    expect(await resolveDelivery(ops, { kind: 'report', businessDate: date }, 'sent', 'found it')).toBe(true);
    const third = await deliverOnce(config, ops, { kind: 'report', businessDate: date }, report(date), { retry: FAST, timeouts: TIMEOUTS });
    expect(third).toMatchObject({ sent: false, alreadySent: true });
    counts[`report ${date} (delay-ack, no mailbox)`] = server.countMessageId(report(date).messageId);
    expect(server.countMessageId(report(date).messageId)).toBe(1);
  });

  it.each([
    ['delay-ack', 'sent', 1],
    ['drop-after-store', 'sent', 1],
    ['close-mid-data', 'sent', 2],
  ] as const)('%s with a readable mailbox: settled by looking, exactly one copy', async (fault, finalStatus, dataAttempts) => {
    const date = { 'delay-ack': '2026-01-02', 'drop-after-store': '2026-01-03', 'close-mid-data': '2026-01-04' }[fault];
    const server = await smtp([fault]);
    const probe = new EmlFolderProbe(server.dir, 3_000);
    const result = await deliverOnce({ SMTP_URL: server.url }, ops, { kind: 'report', businessDate: date }, report(date), {
      retry: FAST,
      timeouts: TIMEOUTS,
      probe,
    });
    expect(result.sent || result.alreadySent).toBe(true);
    expect(await status(date)).toMatchObject({ status: finalStatus });
    expect(server.attempts()).toBe(dataAttempts);
    counts[`report ${date} (${fault}, mailbox)`] = server.countMessageId(report(date).messageId);
    expect(server.countMessageId(report(date).messageId)).toBe(1);
  });

  it('a refusal is failed (nothing handed over) and the next attempt sends once', async () => {
    const date = '2026-01-05';
    const server = await smtp(['refuse', 'refuse', 'refuse']);
    const error = await deliverOnce({ SMTP_URL: server.url }, ops, { kind: 'report', businessDate: date }, report(date), {
      retry: FAST,
      timeouts: TIMEOUTS,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailDeliveryError);
    expect(await status(date)).toMatchObject({ status: 'failed', attempts: 1 });
    await deliverOnce({ SMTP_URL: server.url }, ops, { kind: 'report', businessDate: date }, report(date), {
      retry: FAST,
      timeouts: TIMEOUTS,
    });
    expect(await status(date)).toMatchObject({ status: 'sent', attempts: 2 });
    counts[`report ${date} (refused x3, then ok)`] = server.countMessageId(report(date).messageId);
    expect(server.countMessageId(report(date).messageId)).toBe(1);
  });
});

describe('the alert outbox', () => {
  it('an alert lost while SMTP is down is delivered once when it is back, after its backoff', async () => {
    const server = await smtp([]);
    server.setDown(true);
    const config = { ...warehouse.config, SMTP_URL: server.url };
    const alert = { key: 'report-failed:2026-01-06', kind: 'report_failed', subject: 'report failed', text: 'SMTP refused the report' };
    const outbox = { minDelayMs: 300, maxDelayMs: 300, ttlMs: 60_000 };
    await expect(sendAlert(config, alert, { retry: FAST, timeouts: TIMEOUTS, outbox, probe: null })).rejects.toBeInstanceOf(
      MailDeliveryError,
    );
    const row = await admin.query(
      `select status, body_text, next_attempt_at > now() as backing_off from ops.alerts_sent where alert_key = $1`,
      [alert.key],
    );
    expect(row.rows[0]).toMatchObject({ status: 'failed', body_text: alert.text, backing_off: true });

    server.setDown(false);
    // Before its next attempt is due, the outbox leaves it alone.
    expect(await flushAlertOutbox(config, ops, { timeouts: TIMEOUTS, outbox, probe: null })).toMatchObject({ delivered: 0 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await flushAlertOutbox(config, ops, { timeouts: TIMEOUTS, outbox, probe: null })).toMatchObject({ delivered: 1 });
    expect(await flushAlertOutbox(config, ops, { timeouts: TIMEOUTS, outbox, probe: null })).toMatchObject({ delivered: 0 });
    // The same alert raised again (a retried run) is not sent twice.
    expect(await sendAlert(config, alert, { retry: FAST, timeouts: TIMEOUTS, outbox, probe: null })).toMatchObject({
      sent: false,
      alreadySent: true,
    });
    counts[`alert ${alert.key} (SMTP down, then back)`] = server.countMessageId(stableMessageId('alert', alert.key));
    expect(server.countMessageId(stableMessageId('alert', alert.key))).toBe(1);
    expect(server.messages[0]!.text).toContain('SMTP refused the report');
  });

  it('an alert still undelivered at its expiry is given up, not sent late', async () => {
    const server = await smtp([]);
    server.setDown(true);
    const config = { ...warehouse.config, SMTP_URL: server.url };
    const alert = { key: 'step_failed:microbatch:dbt_build:2026-01-07T03', kind: 'step_failed', subject: 'dbt failed', text: 'dbt failed' };
    const outbox = { minDelayMs: 10, maxDelayMs: 10, ttlMs: 200 };
    await expect(
      sendAlert(config, alert, { retry: { ...FAST, maxAttempts: 1 }, timeouts: TIMEOUTS, outbox, probe: null }),
    ).rejects.toBeInstanceOf(MailDeliveryError);
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.setDown(false);
    expect(await flushAlertOutbox(config, ops, { timeouts: TIMEOUTS, outbox, probe: null })).toMatchObject({ delivered: 0, expired: 1 });
    const row = await admin.query(`select status from ops.alerts_sent where alert_key = $1`, [alert.key]);
    expect(row.rows[0]).toMatchObject({ status: 'expired' });
    expect(server.messages).toHaveLength(0);
  });

  it('an alert whose ack was lost is settled through the mailbox by the outbox, one copy', async () => {
    const server = await smtp(['drop-after-store']);
    const config = { ...warehouse.config, SMTP_URL: server.url };
    const alert = { key: 'fraud:o-1:card_multiple_countries', kind: 'fraud', subject: 'fraud', text: 'order o-1' };
    await expect(sendAlert(config, alert, { retry: FAST, timeouts: TIMEOUTS, probe: null })).rejects.toBeInstanceOf(DeliveryUnknownError);
    const probe = new EmlFolderProbe(server.dir, 100);
    expect(await flushAlertOutbox(config, ops, { timeouts: TIMEOUTS, probe })).toMatchObject({ delivered: 1 });
    const row = await admin.query(`select status, resolution from ops.alerts_sent where alert_key = $1`, [alert.key]);
    expect(row.rows[0].status).toBe('sent');
    expect(row.rows[0].resolution).toContain('found');
    counts[`alert ${alert.key} (drop-after-store, mailbox)`] = server.countMessageId(stableMessageId('alert', alert.key));
    expect(server.countMessageId(stableMessageId('alert', alert.key))).toBe(1);
  });

  it('an alert queued while SMTP is down (not tried now) is delivered once by the outbox', async () => {
    const server = await smtp([]);
    const config = { ...warehouse.config, SMTP_URL: server.url };
    const alert = { key: 'low_stock:p-9:2026-01-08T00:00:00.000Z', kind: 'low_stock', subject: 'low stock p-9', text: 'p-9 is low' };
    expect(await queueAlert(config, ops, alert)).toBe(true);
    expect(await queueAlert(config, ops, alert)).toBe(false);
    expect(server.attempts()).toBe(0);
    expect(await flushAlertOutbox(config, ops, { timeouts: TIMEOUTS, probe: null })).toMatchObject({ delivered: 1 });
    expect(await queueAlert(config, ops, alert)).toBe(false);
    expect(await flushAlertOutbox(config, ops, { timeouts: TIMEOUTS, probe: null })).toMatchObject({ delivered: 0 });
    counts[`alert ${alert.key} (queued while down)`] = server.countMessageId(stableMessageId('alert', alert.key));
    expect(server.countMessageId(stableMessageId('alert', alert.key))).toBe(1);
  });
});
