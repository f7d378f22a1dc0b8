/**
 * The Great Expectations gate end to end: the real GX checkpoint in the project's venv
 * against a test warehouse. Clean raw data passes and is recorded in ops.gate_results; data
 * broken on purpose fails with the failing expectations named, and that failure withholds the
 * daily report and sends the alert instead. A crash or an unreachable warehouse is an error,
 * not a gate result.
 */
import { readFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ProcessFailedError, ServiceUnavailableError } from '../../lib/errors.ts';
import { runGate } from '../../great_expectations/run.ts';
import type { GateSummary } from '../../great_expectations/summary.ts';
import { sendDailyReport } from '../../report/send.ts';
import { ensureShopTypedTables } from '../helpers/shop-ddl.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { createMartsFixture } from '../report/fixtures/marts.ts';
import { closedPort, startCaptureSmtp } from '../report/support/smtp.ts';

let warehouse: TestWarehouse;
let admin: pg.Client;
const outDir = mkdtempSync(join(tmpdir(), 'shopflow-gate-'));

// 20 days of clean clickstream (120 events a day) and 20 days of orders (24 a day, in the typed
// change log), loaded now.
const SEED = `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload)
select 'shop.events', g % 3, g, 's' || (g / 6), gen_random_uuid()::text,
       (array['page_view', 'product_view', 'add_to_cart', 'checkout_started', 'order_placed'])[1 + g % 5],
       timestamptz '2025-06-01 00:00:00+00' + g * interval '12 minutes',
       jsonb_build_object('session_id', 's' || (g / 6), 'price', 19.99, 'quantity', 1 + g % 3)
from generate_series(0, 2399) as g;
insert into raw_shop.orders (operation, source_committed_at, _key, order_id, total_amount, placed_at)
select 'snapshot', now(), jsonb_build_object('order_id', g)::text, g, 42.5, timestamp '2025-06-01' + g * interval '1 hour'
from generate_series(1, 480) as g;
`;

beforeAll(async () => {
  warehouse = await createTestWarehouse('gate');
  admin = new pg.Client({ connectionString: warehouse.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  await ensureShopTypedTables(admin, ['orders']);
  await admin.query(SEED);
});
afterAll(async () => {
  await admin?.end();
  await warehouse?.drop();
});

const failureNames = (summary: GateSummary) => summary.failures.map((f) => f.expectation);

// A gate run is a Python process importing GX (tens of seconds on a loaded 2-core machine).
const GX_TIMEOUT = { timeout: 600_000 };

describe('runGate raw', GX_TIMEOUT, () => {
  it('passes clean data, writes its summary and records the result', async () => {
    const summary = await runGate(warehouse.config, 'raw', { outDir, runId: '00000000-0000-4000-8000-000000000001' });
    expect(summary.failures).toEqual([]);
    expect(summary).toMatchObject({ gate: 'raw', success: true, failed: 0 });
    expect(summary.evaluated).toBeGreaterThan(20);
    const written = JSON.parse(await readFile(summary.summaryPath, 'utf8')) as { success: boolean; validations: unknown[] };
    expect(written.success).toBe(true);
    expect(written.validations).toHaveLength(7);
    const { rows } = await admin.query(
      `select gate, success, evaluated, failed, summary ->> 'summaryPath' as path from ops.gate_results where run_id = '00000000-0000-4000-8000-000000000001'`,
    );
    expect(rows).toEqual([{ gate: 'raw', success: true, evaluated: summary.evaluated, failed: 0, path: summary.summaryPath }]);
  });

  it('fails data broken on purpose, names each failing expectation, and the report is withheld for an alert', async () => {
    await admin.query(`
      insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload)
      values ('shop.events', 9, 1, 'x', 'broken-1', 'teleport', '2025-06-10', '{"price": -5, "quantity": 1}');
      update raw_shop.orders set _loaded_at = now() - interval '3 days';`);
    // Range rules of tables that exist only once their first change lands (migration 0220).
    await ensureShopTypedTables(admin, ['order_items', 'payments']);
    await admin.query(`
      insert into raw_shop.order_items (operation, source_committed_at, _key, order_item_id, order_id, quantity, unit_price)
      values ('insert', now(), '{"order_item_id":1}', 1, 1, 2, 9.99), ('insert', now(), '{"order_item_id":2}', 2, 1, 0, 9.99),
             ('delete', now(), '{"order_item_id":3}', 3, 1, 0, 9.99);
      insert into raw_shop.payments (operation, source_committed_at, _key, payment_id, order_id, amount)
      values ('insert', now(), '{"payment_id":7}', 7, 1, -12.5);`);
    const summary = await runGate(warehouse.config, 'raw', { outDir });
    expect(summary.success).toBe(false);
    expect(failureNames(summary).sort()).toEqual([
      'ranges: item quantities >= 1; order totals, unit and list prices, payment amounts >= 0',
      'ranges: prices and totals >= 0, quantities 1-1000',
      'timeliness: newest change landed within the last 24 hours',
      "values: event_type is one of the clickstream contract's types",
    ]);
    const prices = summary.failures.find((f) => f.expectation.startsWith('ranges: prices'))!;
    expect(prices.details).toContain('broken-1');
    const shopRanges = summary.failures.find((f) => f.suite === 'raw_shop_ranges')!;
    // Two rows: the delete's before-image (order_item_id 3) is not checked again.
    expect(shopRanges.details).toMatch(/^observed_value=2; /);
    expect(shopRanges.details).toMatch(/"column_name": "quantity", .*"table_name": "order_items", "value": "0"/);
    expect(shopRanges.details).toMatch(/"column_name": "amount", .*"table_name": "payments", "value": "-12.50"/);
    const eventType = summary.failures.find((f) => f.expectation.startsWith('values: event_type'))!;
    expect(eventType).toMatchObject({ suite: 'raw_shop_events_window', column: 'event_type' });
    expect(eventType.details).toContain('teleport');

    const smtp = await startCaptureSmtp();
    try {
      const result = await sendDailyReport(
        { ...warehouse.config, SMTP_URL: smtp.url },
        { businessDate: '2025-06-20', gates: [summary] },
        { outDir },
      );
      expect(result).toMatchObject({ sent: false, blocked: true });
      expect(smtp.messages).toHaveLength(1);
      const alert = smtp.messages[0]!;
      expect(alert.subject).toContain('Data quality gate FAILED for 2025-06-20');
      for (const name of failureNames(summary)) expect(alert.text).toContain(name);
      const reports = await admin.query(`select count(*)::int as n from ops.reports_sent`);
      expect(reports.rows[0].n).toBe(0);
    } finally {
      await smtp.close();
    }
  });
});

describe('runGate marts', GX_TIMEOUT, () => {
  it('fails with the database error when a mart the gate checks does not exist', async () => {
    await createMartsFixture(warehouse.adminUrl); // has no top_products, category_revenue_weekly, ...
    const summary = await runGate(warehouse.config, 'marts', { outDir });
    expect(summary.success).toBe(false);
    const missing = summary.failures.filter((f) => f.suite === 'marts_top_products');
    expect(missing.length).toBeGreaterThan(0);
    expect(missing[0]!.details).toMatch(/^error: .*top_products.* does not exist/);
    // Expectations on marts that do exist and hold still pass.
    expect(summary.failures.some((f) => f.suite === 'marts_customer_cohorts_monthly')).toBe(false);
  });
});

describe('runGate errors', () => {
  it('an unreachable warehouse is a retryable ServiceUnavailableError, not a gate result', async () => {
    const url = new URL(warehouse.config.WAREHOUSE_URL);
    url.port = String(await closedPort());
    const error = await runGate({ ...warehouse.config, WAREHOUSE_URL: url.toString() }, 'raw', { outDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as ServiceUnavailableError).canRetry).toBe(true);
  });

  it('a Python process that cannot run is a ProcessFailedError', async () => {
    const error = await runGate({ ...warehouse.config, PYTHON_VENV: join(outDir, 'no-such-venv') }, 'raw', { outDir }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProcessFailedError);
  });
});
