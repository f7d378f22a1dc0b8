/**
 * sendDailyReport against a real warehouse (fixture marts read as bi_reader) and real SMTP
 * servers: the figures equal the marts, a dry run mails nothing, the report goes out exactly
 * once per business date even across SMTP outages, retries and concurrent senders.
 */
import { readFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Config } from '../../lib/config/index.ts';
import { roleUrl } from '../../lib/config/index.ts';
import { DeliveryInProgressError, DeliveryUnknownError } from '../../lib/mail/deliver.ts';
import { MailDeliveryError } from '../../lib/mail/transport.ts';
import type { GateSummary } from '../../great_expectations/summary.ts';
import { loadCohorts, loadFreshness, loadReportData } from '../../report/queries.ts';
import { sendDailyReport } from '../../report/send.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { FIXTURE_DATE, HOSTILE_PRODUCT, createMartsFixture } from './fixtures/marts.ts';
import { closedPort, startCaptureSmtp, type CaptureSmtp } from './support/smtp.ts';

const FAST = { minDelayMs: 10, maxDelayMs: 30, maxAttempts: 3 };
const PASSED: GateSummary[] = [
  {
    gate: 'raw',
    success: true,
    evaluated: 3,
    failed: 0,
    failures: [],
    summaryPath: 'raw.json',
    dataDocsPath: null,
    checkedAt: '2026-03-18T07:00:00Z',
  },
  {
    gate: 'marts',
    success: true,
    evaluated: 3,
    failed: 0,
    failures: [],
    summaryPath: 'marts.json',
    dataDocsPath: null,
    checkedAt: '2026-03-18T07:01:00Z',
  },
];

let warehouse: TestWarehouse;
let admin: pg.Client;
const servers: CaptureSmtp[] = [];
const outDir = mkdtempSync(join(tmpdir(), 'shopflow-report-'));

beforeAll(async () => {
  warehouse = await createTestWarehouse('report_send');
  await createMartsFixture(warehouse.adminUrl);
  admin = new pg.Client({ connectionString: warehouse.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(async () => {
  await admin?.end();
  await warehouse?.drop();
});

async function smtp(options?: Parameters<typeof startCaptureSmtp>[0]): Promise<CaptureSmtp> {
  const server = await startCaptureSmtp(options);
  servers.push(server);
  return server;
}

function withSmtp(url: string): Config {
  return { ...warehouse.config, SMTP_URL: url };
}

async function ledger(date: string): Promise<{ status: string; attempts: number; message_id: string | null } | undefined> {
  const { rows } = await admin.query('select status, attempts, message_id from ops.reports_sent where business_date = $1', [date]);
  return rows[0] as { status: string; attempts: number; message_id: string | null } | undefined;
}

describe('report figures', () => {
  it('equal the marts they come from', async () => {
    const bi = new pg.Pool({ connectionString: roleUrl(warehouse.config, 'bi_reader') });
    bi.on('error', () => undefined);
    try {
      const data = await loadReportData(bi, FIXTURE_DATE, new Date('2026-03-18T07:00:00Z'));
      const day = async (date: string) =>
        (await admin.query('select * from marts.revenue_daily where revenue_date = $1', [date])).rows[0] as Record<string, string>;
      for (const [kpis, date] of [
        [data.kpis.current, FIXTURE_DATE],
        [data.kpis.previous, '2026-03-16'],
        [data.kpis.lastWeek, '2026-03-10'],
      ] as const) {
        const row = await day(date);
        expect(kpis.revenue).toBe(Number(row.gross_revenue));
        expect(kpis.netRevenue).toBe(Number(row.net_revenue));
        expect(kpis.orders).toBe(Number(row.order_count));
        expect(kpis.aov).toBe(row.average_order_value === null ? null : Number(row.average_order_value));
      }
      // Fixture: on the business date customers 1 (first order a week earlier), 4 and 5 (first ever) ordered.
      expect(data.kpis.current).toMatchObject({
        revenue: 220.25,
        orders: 3,
        newCustomers: 2,
        returningCustomers: 1,
        sessions: 8,
        convertedSessions: 2,
        conversionRate: 0.25,
      });
      expect(data.kpis.previous).toMatchObject({ revenue: 80, orders: 1, newCustomers: 1, returningCustomers: 0 });

      const trendTotal = data.trend.ok ? data.trend.rows.reduce((s, p) => s + p.revenue, 0) : NaN;
      const { rows } = await admin.query(
        `select sum(gross_revenue) as total, count(*) as days from marts.revenue_daily where revenue_date between $1::date - 29 and $1::date`,
        [FIXTURE_DATE],
      );
      expect(trendTotal).toBeCloseTo(Number(rows[0].total), 2);
      expect(data.trend.ok && data.trend.rows.length).toBe(30);

      expect(data.funnel).toEqual({
        ok: true,
        rows: [
          { step: 'Sessions', sessions: 8 },
          { step: 'Product view', sessions: 7 },
          { step: 'Add to cart', sessions: 4 },
          { step: 'Checkout', sessions: 3 },
          { step: 'Order placed', sessions: 2 },
        ],
      });
      expect(data.topProducts.ok && data.topProducts.rows.map((p) => [p.productName, p.units, p.revenue])).toEqual([
        [HOSTILE_PRODUCT, 4, 120],
        ['Headphones', 5, 60.25],
      ]);
      expect(data.lowStock.ok && data.lowStock.rows).toEqual([
        { productName: HOSTILE_PRODUCT, sku: 'TY-1', quantityOnHand: 2, reorderPoint: 5 },
      ]);
      expect(data.segments.ok && data.segments.rows[0]).toEqual({ segment: 'Lost', customers: 2, asOfDate: FIXTURE_DATE });
      // Data freshness is the newest order / event against the end of the business date; load
      // time is a separate figure against the report's own time.
      expect(data.freshness.ok && data.freshness.rows.map((r) => [r.source, r.latestAt, r.lagHours, r.status])).toEqual([
        ['Shop database (orders)', `${FIXTURE_DATE}T12:00:00.000Z`, 12, 'ok'],
        ['Clickstream (events)', '2026-03-15T08:00:00.000Z', 64, 'stale'],
      ]);
      expect(data.freshness.ok && data.freshness.rows.every((r) => r.loadedAt !== null && r.loadAgeHours !== null)).toBe(true);
    } finally {
      await bi.end();
    }
  });
});

describe('a report for a historical as-of date', () => {
  let bi: pg.Pool;
  beforeAll(() => {
    bi = new pg.Pool({ connectionString: roleUrl(warehouse.config, 'bi_reader') });
    bi.on('error', () => undefined);
  });
  afterAll(async () => {
    await bi.end();
  });

  it('shows the latest cohorts even when the newest began more than 12 months before the as-of date (it said "No cohorts yet")', async () => {
    const cohorts = await loadCohorts(bi, '2027-08-31');
    expect([...new Set(cohorts.map((c) => c.cohortMonth))]).toEqual(['2026-02-01', '2026-03-01']);
    expect(cohorts).toHaveLength(3);
  });

  it('leaves out cohorts and months that began after the as-of date', async () => {
    expect(await loadCohorts(bi, '2026-02-28')).toEqual([
      { cohortMonth: '2026-02-01', monthsSinceFirstOrder: 0, cohortSize: 10, retentionRate: 1 },
    ]);
  });

  it('shows the latest 12 cohorts up to the as-of date', async () => {
    await admin.query(`insert into marts.customer_cohorts_monthly
      select (date '2024-01-01' + make_interval(months => m))::date, 0, 5, 5, 1 from generate_series(0, 23) as m`);
    try {
      const months = [...new Set((await loadCohorts(bi, '2025-06-15')).map((c) => c.cohortMonth))];
      expect(months).toHaveLength(12);
      expect(months[0]).toBe('2024-07-01');
      expect(months.at(-1)).toBe('2025-06-01');
    } finally {
      await admin.query(`delete from marts.customer_cohorts_monthly where cohort_month < '2026-01-01'`);
    }
  });

  it("states freshness in the data's terms for that date, and the load time separately", async () => {
    const now = new Date(Date.now() + 5 * 3_600_000); // the fixture's loads happened just now
    const earlier = await loadFreshness(bi, '2026-03-10', now);
    // On 2026-03-10 the newest order was that day at noon: current for that date.
    expect(earlier[0]).toMatchObject({
      source: 'Shop database (orders)',
      latestAt: '2026-03-10T12:00:00.000Z',
      lagHours: 12,
      status: 'ok',
    });
    // A date long after the data ends: the data is behind, by the real gap.
    const later = await loadFreshness(bi, '2026-04-16', now);
    expect(later[0]).toMatchObject({ latestAt: `${FIXTURE_DATE}T12:00:00.000Z`, lagHours: 30 * 24 + 12, status: 'stale' });
    // Load time is the wall clock's business, the same for any as-of date.
    expect(later[0]!.loadedAt).toBe(earlier[0]!.loadedAt);
    expect(later[0]!.loadAgeHours).toBeCloseTo(5, 0);
  });
});

describe('sendDailyReport', () => {
  it('dry run: saves a standalone, escaped HTML file and mails or records nothing', async () => {
    const server = await smtp();
    const result = await sendDailyReport(withSmtp(server.url), { businessDate: FIXTURE_DATE, gates: [], dryRun: true }, { outDir });
    expect(result).toMatchObject({ sent: false, alreadySent: false, htmlPath: join(outDir, `${FIXTURE_DATE}.html`) });
    const html = await readFile(result.htmlPath, 'utf8');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain(HOSTILE_PRODUCT);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('data:image/png;base64,');
    expect(html).toContain('$220'); // revenue of the business date, from marts.revenue_daily
    expect(server.attempts()).toBe(0);
    expect(await ledger(FIXTURE_DATE)).toBeUndefined();
  });

  it('refuses to mail a report no gate has checked', async () => {
    const server = await smtp();
    await expect(sendDailyReport(withSmtp(server.url), { businessDate: FIXTURE_DATE, gates: [] }, { outDir })).rejects.toMatchObject({
      code: 'SHOPFLOW_REPORT_UNCHECKED',
    });
    expect(server.attempts()).toBe(0);
  });

  it('SMTP down: retried, then alerted, and a later run sends the report exactly once', async () => {
    const date = '2026-03-16';
    const down = withSmtp(`smtp://127.0.0.1:${await closedPort()}`);
    const error = await sendDailyReport(down, { businessDate: date, gates: PASSED }, { outDir, retry: FAST }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailDeliveryError);
    expect((error as MailDeliveryError).attempts).toBe(3);
    expect(await ledger(date)).toMatchObject({ status: 'failed', attempts: 1 });
    // The report-failed alert was attempted (and failed too: same SMTP) and is recorded for retry.
    const alert = await admin.query(`select status, kind from ops.alerts_sent where alert_key = $1`, [`report-failed:${date}`]);
    expect(alert.rows[0]).toMatchObject({ status: 'failed', kind: 'report_failed' });

    const server = await smtp({ refuseFirst: 1 });
    const sent = await sendDailyReport(withSmtp(server.url), { businessDate: date, gates: PASSED }, { outDir, retry: FAST });
    expect(sent).toMatchObject({ sent: true, alreadySent: false, messageId: `<report.${date}@shopflow.local>` });
    expect(server.attempts()).toBe(2);
    expect(await ledger(date)).toMatchObject({ status: 'sent', attempts: 2, message_id: `<report.${date}@shopflow.local>` });

    const again = await sendDailyReport(withSmtp(server.url), { businessDate: date, gates: PASSED }, { outDir, retry: FAST });
    expect(again).toMatchObject({ sent: false, alreadySent: true });
    expect(server.messages).toHaveLength(1);

    const mail = server.messages[0]!;
    expect(mail.subject).toContain('ShopFlow daily report');
    expect(mail.text).toContain('KEY FIGURES');
    const cids = [...String(mail.html).matchAll(/src="cid:([^"]+)"/g)].map((m) => m[1]);
    expect(cids.length).toBe(5);
    expect(mail.attachments.map((a) => a.cid).sort()).toEqual([...cids].sort());
    expect(mail.attachments.every((a) => a.contentType === 'image/png')).toBe(true);
  });

  // Regression guard: a server that stored the report and acknowledged after the client's timeout
  // received it 4 times, the ledger said 'failed', and the next run sent a 5th.
  it('a late acknowledgement: one report in the server, ledger unknown, one report-unknown alert, no resend', async () => {
    const date = '2026-03-14';
    const server = await smtp({ faults: ['delay-ack'], ackDelayMs: 2_500 });
    const options = { outDir, retry: FAST, timeouts: { socketMs: 1_000 }, probe: null };
    const error = await sendDailyReport(withSmtp(server.url), { businessDate: date, gates: PASSED }, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryUnknownError);
    expect(await ledger(date)).toMatchObject({ status: 'unknown', attempts: 1 });
    const again = await sendDailyReport(withSmtp(server.url), { businessDate: date, gates: PASSED }, options).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(DeliveryUnknownError);
    const reports = server.countMessageId(`<report.${date}@shopflow.local>`);
    const alerts = server.countMessageId(`<alert.report-unknown.${date}@shopflow.local>`);
    process.stdout.write(`report late-ack: reports for ${date} in the server: ${reports}, report-unknown alerts: ${alerts}\n`);
    expect(reports).toBe(1);
    expect(alerts).toBe(1);
    expect(server.messages.find((m) => m.subject?.includes('delivery unknown'))?.text).toContain(`--resolve sent --date ${date}`);
  });

  it('two concurrent senders for one date send one report', async () => {
    const date = '2026-03-10';
    const server = await smtp();
    const config = withSmtp(server.url);
    const results = await Promise.allSettled([
      sendDailyReport(config, { businessDate: date, gates: PASSED }, { outDir, retry: FAST }),
      sendDailyReport(config, { businessDate: date, gates: PASSED }, { outDir, retry: FAST }),
    ]);
    const sent = results.filter((r) => r.status === 'fulfilled' && r.value.sent);
    expect(sent).toHaveLength(1);
    for (const other of results.filter((r) => !(r.status === 'fulfilled' && r.value.sent))) {
      if (other.status === 'rejected') expect(other.reason).toBeInstanceOf(DeliveryInProgressError);
      else expect(other.value.alreadySent).toBe(true);
    }
    expect(server.messages).toHaveLength(1);
  });

  it('withholds the report when a gate failed and sends the failure alert once instead', async () => {
    const date = '2026-03-15';
    const server = await smtp();
    const gates: GateSummary[] = [
      PASSED[0]!,
      {
        ...PASSED[1]!,
        success: false,
        failed: 1,
        failures: [{ suite: 'marts_revenue_daily', expectation: 'reconciliation: revenue_daily equals fct_orders', details: 'rows=[...]' }],
      },
    ];
    const first = await sendDailyReport(withSmtp(server.url), { businessDate: date, gates }, { outDir, retry: FAST });
    const second = await sendDailyReport(withSmtp(server.url), { businessDate: date, gates }, { outDir, retry: FAST });
    expect(first).toMatchObject({ sent: false, blocked: true });
    expect(second).toMatchObject({ sent: false, blocked: true });
    expect(server.messages).toHaveLength(1);
    expect(server.messages[0]!.subject).toContain('gate FAILED');
    expect(server.messages[0]!.text).toContain('reconciliation: revenue_daily equals fct_orders');
    expect(await ledger(date)).toBeUndefined();
  });

  it('rejects a malformed business date before touching anything', async () => {
    await expect(sendDailyReport(warehouse.config, { businessDate: '2026-02-30', gates: PASSED }, { outDir })).rejects.toMatchObject({
      code: 'SHOPFLOW_USAGE',
    });
  });
});
