/**
 * "Bring your history" (docs/history.md): the sample export of a shop that is not the
 * generator's (Velo Bern, 2011, one-time buyers, Swiss francs written 1'249.00) lands through
 * ingest:files and dbt builds the same marts as for the live shop from it. The figures below were
 * worked out by hand from the three CSV files, to the cent. Then the live shop (MariaDB through
 * the CDC ingestor) is added with some of the export's keys: for a key both have, the live row
 * counts, the export's other rows stay, and an incremental run keeps them.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startCli } from '../../bench/lib/shop-pipeline.ts';
import { ROOT_DIR } from '../../lib/config/index.ts';
import { scratchFolder } from '../ingest/files/support.ts';
import { createTestShopDb, type TestShopDb } from '../helpers/shopdb.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { dbtRunner, withPg } from './helpers.ts';

const EXAMPLE = join(ROOT_DIR, 'ingest', 'files', 'examples', 'history');
// Each case lands files and runs dbt builds: near three minutes on a loaded 2-core machine.
const SLOW = { timeout: 600_000 };
const MARTS = [
  '+revenue_daily',
  '+customer_lifetime_value',
  '+repeat_purchase_rate',
  '+customer_cohorts_monthly',
  '+customer_rfm_segments',
  '+fct_order_items',
  'stg_history__rejects',
];

let warehouse: TestWarehouse;
let shop: TestShopDb;
let runner: ReturnType<typeof dbtRunner>;
const folder = scratchFolder('history');

function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR']) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  return {
    ...env,
    WAREHOUSE_URL: warehouse.adminUrl,
    SHOP_DB_URL: shop.url,
    CDC_SERVER_ID: String(100_000 + Math.floor(Math.random() * 1_000_000_000)),
    LOG_LEVEL: 'warn',
    CI: 'true',
  };
}

beforeAll(async () => {
  warehouse = await createTestWarehouse('dbt_history');
  shop = await createTestShopDb('dbt_history', { withSchema: true });
  runner = dbtRunner(warehouse.config);
  cpSync(EXAMPLE, folder.path, { recursive: true });
});

afterAll(async () => {
  runner?.cleanup();
  await shop?.drop();
  await warehouse?.drop();
  folder.remove();
});

const query = <T extends Record<string, unknown>>(sql: string) =>
  withPg(warehouse.adminUrl, async (client) => (await client.query<T>(sql)).rows);

async function revenue() {
  const [row] = await query(
    `select sum(order_count)::int as orders, sum(gross_revenue)::text as gross, sum(net_revenue)::text as net,
            sum(cancelled_revenue)::text as cancelled, sum(returned_revenue)::text as returned,
            max(revenue_date)::text as last_day
       from marts.revenue_daily`,
  );
  return row;
}

async function lifetimeValues() {
  const rows = await query<{ customer_id: string; lifetime_value: string; valid_order_count: number }>(
    'select customer_id::text, lifetime_value::text, valid_order_count from marts.customer_lifetime_value order by customer_id',
  );
  return Object.fromEntries(rows.map((row) => [row.customer_id, [row.lifetime_value, row.valid_order_count]]));
}

async function lastRepeatRate() {
  const [row] = await query(
    `select order_month::text, cumulative_buying_customers, cumulative_repeat_customers, repeat_purchase_rate::text
       from marts.repeat_purchase_rate order by order_month desc limit 1`,
  );
  return row;
}

describe('a shop history export in the marts', () => {
  it('lands through ingest:files and builds the marts to hand-computed figures', SLOW, async () => {
    await startCli('ingest/files/cli.ts', ['--config', join(folder.path, 'history.yaml')], childEnv()).done;
    await runner.dbt(['build', '--indirect-selection', 'cautious', '--select', ...MARTS]);

    // Gross: every exported order; net leaves out 105 (cancelled, 310.00) and 106 (refunded, 129.00).
    expect(await revenue()).toEqual({
      orders: 10,
      gross: '4852.15',
      net: '4413.15',
      cancelled: '310.00',
      returned: '129.00',
      last_day: '2011-05-30',
    });
    // Four one-time buyers (2, 4, 5, 6); customer 4's first order was cancelled, customer 5's refunded.
    expect(await lifetimeValues()).toEqual({
      '1': ['1413.75', 3],
      '2': ['89.90', 1],
      '3': ['280.50', 2],
      '4': ['149.00', 1],
      '5': ['0.00', 1],
      '6': ['2480.00', 1],
    });
    // Of six buyers with a non-cancelled order, 1 and 3 bought twice or more.
    expect(await lastRepeatRate()).toEqual({
      order_month: '2011-05-01',
      cumulative_buying_customers: 6,
      cumulative_repeat_customers: 2,
      repeat_purchase_rate: '0.3333',
    });
    expect(
      await query(
        'select cohort_month::text, cohort_size from marts.customer_cohorts_monthly where months_since_first_order = 0 order by 1',
      ),
    ).toEqual([
      { cohort_month: '2011-01-01', cohort_size: 2 },
      { cohort_month: '2011-02-01', cohort_size: 1 },
      { cohort_month: '2011-03-01', cohort_size: 1 },
      { cohort_month: '2011-04-01', cohort_size: 1 },
      { cohort_month: '2011-05-01', cohort_size: 1 },
    ]);
    expect(await query('select count(*)::int as customers from marts.customer_rfm_segments')).toEqual([{ customers: 6 }]);
    // Lines find their product (derived from the lines) and the order's customer version.
    expect(
      await query(
        `select category, sum(net_line_total)::text as net, count(*)::int as lines
           from marts.fct_order_items group by 1 order by 1`,
      ),
    ).toEqual([
      { category: 'Accessories', net: '584.35', lines: 8 },
      { category: 'Bikes', net: '3749.00', lines: 2 },
      { category: 'Parts', net: '99.80', lines: 2 },
    ]);
    expect(await query('select count(*)::int as rejects from staging.stg_history__rejects')).toEqual([{ rejects: 0 }]);
  });

  it('with the live shop: the live row wins for a key both have, and incremental runs keep the history', SLOW, async () => {
    const connection = await mysql.createConnection({ uri: shop.url });
    connection.on('error', () => undefined);
    try {
      await connection.query(
        `insert into customers (customer_id, email, first_name, last_name, country_code, city, signup_channel, signed_up_at, created_at, updated_at) values
           (1, 'anna.keller@example.net', 'Anna', 'Keller', 'CH', 'Thun', 'organic', '2011-01-03 09:15:00', '2011-01-03 09:15:00', '2012-01-15 08:00:00'),
           (4, 'tom.meier@example.de', 'Tom', 'Meier', 'DE', 'Konstanz', 'referral', '2011-03-03 11:11:00', '2011-03-03 11:11:00', '2011-06-01 00:00:00')`,
      );
      await connection.query(
        `insert into products (product_id, sku, product_name, category, subcategory, brand, price, cost, launched_at, created_at, updated_at) values
           (502, 'VB-LOCK', 'Folding lock', 'Security', 'Locks', 'Velo', 89.90, 40.00, '2010-01-01', '2010-01-01', '2010-01-01'),
           (504, 'VB-LIGHT', 'Light set', 'Accessories', 'Lights', 'Velo', 59.10, 20.00, '2010-01-01', '2010-01-01', '2010-01-01')`,
      );
      // Order 110 and its lines are in the export too: since the export the customer returned it.
      await connection.query(
        `insert into orders (order_id, customer_id, status, currency, subtotal_amount, total_amount, ship_country_code, ship_city, placed_at, returned_at, created_at, updated_at) values
           (110, 4, 'returned', 'CHF', 149.00, 149.00, 'DE', 'Konstanz', '2011-05-30 10:00:00', '2011-06-10 09:00:00', '2011-05-30 10:00:00', '2011-06-10 09:00:00'),
           (201, 1, 'delivered', 'CHF', 89.90, 89.90, 'CH', 'Thun', '2012-02-01 10:00:00', null, '2012-02-01 10:00:00', '2012-02-01 10:00:00')`,
      );
      await connection.query(
        `insert into order_items (order_item_id, order_id, product_id, quantity, unit_price, line_total, created_at, updated_at) values
           (1011, 110, 502, 1, 89.90, 89.90, '2011-05-30 10:00:00', '2011-05-30 10:00:00'),
           (1012, 110, 504, 1, 59.10, 59.10, '2011-05-30 10:00:00', '2011-05-30 10:00:00'),
           (2001, 201, 502, 1, 89.90, 89.90, '2012-02-01 10:00:00', '2012-02-01 10:00:00')`,
      );
      await startCli('ingest/cdc/cli.ts', ['--until-idle', '3000'], childEnv()).done;
      await runner.dbt(['build', '--full-refresh', '--indirect-selection', 'cautious', '--select', ...MARTS]);

      // + 201 (89.90); 110 is the live shop's now: returned, so out of net (149.00).
      expect(await revenue()).toEqual({
        orders: 11,
        gross: '4942.05',
        net: '4354.05',
        cancelled: '310.00',
        returned: '278.00',
        last_day: '2012-02-01',
      });
      expect(await lifetimeValues()).toMatchObject({ '1': ['1503.65', 4], '4': ['0.00', 1] });
      expect(
        await query(`select customer_id::int, email, city from marts.dim_customers where is_current and customer_id in (1, 4) order by 1`),
      ).toEqual([
        { customer_id: 1, email: 'anna.keller@example.net', city: 'Thun' },
        { customer_id: 4, email: 'tom.meier@example.de', city: 'Konstanz' },
      ]);
      // Anna's 2011 orders join her exported version (Bern), her 2012 order the live one.
      expect(await query(`select order_id::int, customer_city from marts.fct_orders where customer_id = 1 order by 1`)).toEqual([
        { order_id: 101, customer_city: 'Bern' },
        { order_id: 104, customer_city: 'Bern' },
        { order_id: 109, customer_city: 'Bern' },
        { order_id: 201, customer_city: 'Thun' },
      ]);
      expect(await query(`select category from marts.fct_order_items where order_item_id = 1011`)).toEqual([{ category: 'Security' }]);

      // An incremental run folds in the live shop's next change and keeps every exported row.
      await connection.query(
        `update orders set status = 'cancelled', cancelled_at = '2012-02-02 08:00:00', updated_at = '2012-02-02 08:00:00' where order_id = 201`,
      );
      await startCli('ingest/cdc/cli.ts', ['--until-idle', '3000'], childEnv()).done;
      await runner.dbt(['build', '--indirect-selection', 'cautious', '--select', ...MARTS]);
      expect(await revenue()).toEqual({
        orders: 11,
        gross: '4942.05',
        net: '4264.15',
        cancelled: '399.90',
        returned: '278.00',
        last_day: '2012-02-01',
      });
    } finally {
      await connection.end().catch(() => undefined);
    }
  });

  // Continues from the state the test above leaves.
  it('warns when an export file landed after the last full build, until the next one reads it', SLOW, async () => {
    writeFileSync(
      join(folder.path, 'export', 'orders-late.csv'),
      'order_id;customer_id;placed_at;status;currency;total_amount;subtotal_amount;discount_amount;shipping_amount;tax_amount;ship_country_code;ship_region;ship_city;ship_postal_code\n' +
        '111;2;02.06.2011 12:00;delivered;CHF;0.00;;;;;CH;VD;Lausanne;1003\n',
    );
    await startCli('ingest/files/cli.ts', ['--config', join(folder.path, 'history.yaml')], childEnv()).done;
    const incremental = await runner.dbt(['build', '--indirect-selection', 'cautious', '--select', ...MARTS, 'assert_history_is_staged']);
    expect(incremental.outputTail).toMatch(/Warning in test assert_history_is_staged/);
    await runner.dbt(['build', '--full-refresh', '--indirect-selection', 'cautious', '--select', ...MARTS, 'assert_history_is_staged']);
    expect(await query('select order_count from marts.customer_lifetime_value where customer_id = 2')).toEqual([{ order_count: 2 }]);
  });
});
