// Regression guard: a suspected-fraud order must be alerted within 5 minutes of being placed,
// even while a long micro-batch build holds dbt, and each alert must go out exactly once however
// many alert runs see it. Time is compressed 30x (a simulated minute per two real seconds); the alert
// facts are read by the real SQL from marts tables shaped like the dbt contracts.
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../lib/logger.ts';
import { CompressedClock } from '../../scheduler/clock.ts';
import { DBT_ALERT_ARGS } from '../../scheduler/jobs/dbt-args.ts';
import { Scheduler } from '../../scheduler/scheduler.ts';
import { fakeOperations } from './support/fake-operations.ts';
import { createSchedulerWarehouse, type SchedulerTestWarehouse } from './support/warehouse.ts';

let warehouse: SchedulerTestWarehouse;
const logger = createLogger('scheduler-test', 'silent');
const SCALE = 30;
const SIM_MINUTE_MS = 60_000 / SCALE;

beforeAll(async () => {
  warehouse = await createSchedulerWarehouse('alerts', { MICROBATCH_MINUTES: '15' });
  // The three marts the alert query reads, with the contract's column names and types.
  await warehouse.admin.query(`
    create table marts.suspected_fraud_orders (
      order_id bigint, customer_id bigint, order_status text, reasons text, total_amount numeric(14,2), rules_triggered integer,
      is_card_used_from_multiple_countries boolean, is_large_order_on_new_account boolean, has_repeated_payment_failures boolean,
      order_date date, placed_at timestamptz, fraud_score integer);
    create table marts.fct_inventory_daily (product_id bigint, inventory_date date, quantity_on_hand integer, is_at_or_below_reorder_point boolean);
    create table marts.low_stock_products (
      product_id bigint, sku text, product_name text, category text, quantity_on_hand integer, reorder_point integer, reorder_quantity integer,
      units_sold_last_28_days integer, average_daily_units_sold numeric(10,2), days_of_cover numeric(10,1), is_out_of_stock boolean,
      is_active boolean, as_of_date date);
    create table marts.stockout_risk_products (
      product_id bigint, sku text, product_name text, category text, quantity_on_hand integer, reorder_point integer,
      forecast_daily_units numeric(12,2), lead_time_forecast_units numeric(12,1), lead_time_days integer, days_of_cover numeric(10,1),
      is_at_or_below_reorder_point boolean, expected_stockout_date date, as_of_date date, last_restocked_date date);
    -- Above its reorder point, so only the forecast sees the stock-out coming.
    insert into marts.stockout_risk_products values (88, 'SKU-88', 'Red kite', 'toys', 30, 12, 6.5, 45.5, 7, 4.6, false, '2024-05-06', '2024-05-02', '2024-04-20');
    grant select on all tables in schema marts to bi_reader;
    -- History: an old fraud order and an old crossing must never be alerted.
    insert into marts.suspected_fraud_orders values (1, 10, 'paid', 'large order on new account', 9000, 1, false, true, false, '2021-03-01', '2021-03-01T10:00:00Z');
    insert into marts.fct_inventory_daily values (500, '2024-04-01', 3, true);
    insert into marts.low_stock_products values (500, 'SKU-500', 'Old lamp', 'home', 3, 10, 50, 0, 0, null, false, true, '2024-04-01');
  `);
});
afterAll(async () => {
  await warehouse?.drop();
});

const REASONS = 'card seen from 2 IP countries within 30 minutes (+40); 5 failed payment attempts within 10 minutes (+50)';

describe('operational alerts', () => {
  it('alerts a fraud order within 5 minutes, a low-stock crossing and an expected stock-out, each exactly once', async () => {
    const clock = new CompressedClock(new Date('2024-05-02T09:00:10Z'), SCALE);
    const simMs = (simulated: number) => simulated / SCALE;
    const operations = fakeOperations({
      pool: warehouse.admin,
      clock,
      // A full micro-batch build takes 3 simulated minutes; the narrow alert build 20 seconds.
      dbtMsFor: (args) => (args.join(' ') === DBT_ALERT_ARGS.join(' ') ? simMs(20_000) : simMs(180_000)),
    });
    const scheduler = new Scheduler({
      config: warehouse.config,
      logger,
      operations,
      instanceId: 'alerts-test',
      jobs: ['alerts', 'microbatch'],
      clock,
      tickMs: 50,
      heartbeatMs: 200,
      logDir: null,
    });
    try {
      await scheduler.start();
      // The order lands while the 09:00 micro-batch (3 simulated minutes) holds dbt.
      await sleep(SIM_MINUTE_MS / 2);
      const placedAt = clock.now();
      await warehouse.admin.query(
        `insert into marts.suspected_fraud_orders values (42, 7, 'placed', $3, 120, 2, true, false, true, $2::date, $1::timestamptz, 90)`,
        [placedAt, placedAt.toISOString().slice(0, 10), REASONS],
      );
      await warehouse.admin.query(`
        insert into marts.fct_inventory_daily values (77, '2024-05-01', 40, false), (77, '2024-05-02', 4, true);
        insert into marts.low_stock_products values (77, 'SKU-77', 'Blue mug', 'kitchen', 4, 10, 50, 60, 2.14, 1.9, false, true, '2024-05-02');`);

      const deadline = Date.now() + 8 * SIM_MINUTE_MS;
      while (operations.alerts.filter((a) => a.kind === 'fraud').length < 2 && Date.now() < deadline) await sleep(50);
      // Several more alert runs must see the same rows. Wait for them by count, not by a fixed sleep:
      // on a loaded machine the compressed clock's minutes take longer in real time.
      const countSucceededRuns = async () =>
        (
          await warehouse.admin.query<{ n: number }>(
            `select count(*)::int as n from ops.runs where job = 'alerts' and status = 'succeeded'`,
          )
        ).rows[0]!.n;
      const runsDeadline = Date.now() + 90_000;
      while ((await countSucceededRuns()) < 4 && Date.now() < runsDeadline) await sleep(100);

      const fraud = operations.alerts.filter((a) => a.kind === 'fraud');
      expect(fraud.map((a) => a.key).sort()).toEqual(['fraud:42:card_multiple_countries', 'fraud:42:repeated_payment_failures']);
      for (const alert of fraud) {
        // The alert says why: the features that fired, with their values and points, and the score.
        expect(alert.text).toContain(`Why: ${REASONS}`);
        expect(alert.text).toContain('with a fraud score of 90');
        const latencyMs = alert.sentAt!.getTime() - placedAt.getTime();
        expect(latencyMs).toBeGreaterThan(0);
        expect(latencyMs, `simulated latency of ${alert.key}: ${latencyMs / 1000} s`).toBeLessThanOrEqual(5 * 60_000);
      }
      const lowStock = operations.alerts.filter((a) => a.kind === 'low_stock');
      expect(lowStock.map((a) => a.key)).toEqual(['low_stock:77:2024-05-02T00:00:00.000Z']);
      const stockout = operations.alerts.filter((a) => a.kind === 'stockout_expected');
      expect(stockout.map((a) => a.key)).toEqual(['stockout_expected:88:2024-04-20']);
      // It says why: stock against forecast demand over the lead time, and that the reorder point has not been reached.
      expect(stockout[0]!.text).toContain('30 on hand against 45.5 units of forecast demand over the lead time');
      expect(stockout[0]!.text).toContain('still above its reorder point');
      const sent = await warehouse.admin.query(`select alert_key from ops.alerts_sent order by alert_key`);
      expect(sent.rows.map((r) => r.alert_key)).toEqual([
        'fraud:42:card_multiple_countries',
        'fraud:42:repeated_payment_failures',
        'low_stock:77:2024-05-02T00:00:00.000Z',
        'stockout_expected:88:2024-04-20',
      ]);
      // The alert job ran every simulated minute and recorded each run.
      expect(await countSucceededRuns()).toBeGreaterThanOrEqual(4);
    } finally {
      await scheduler.stop();
    }
  });
});
