/**
 * The marts agree, to the cent, with the same figures computed straight from the source of
 * truth (SQL over the MariaDB shop database), after the real pipeline carried the data: the
 * generator (with anomalies) -> MariaDB + Kafka -> CDC and Kafka ingestors -> dbt build.
 * A failure means a transformation loses, duplicates or misattributes orders somewhere
 * between the binlog and the report.
 *
 * Checked: daily revenue (orders, gross, net of cancellations and returns), the repeat
 * purchase rate, cohort sizes and retention by month offset, and RFM segment counts
 * (recency scored in MariaDB from ranks, frequency from the default fixed thresholds, segments
 * from an R x F grid written out here).
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl } from '../../lib/config/index.ts';
import { dbtRunner, withPg } from './helpers.ts';
import { createPipelineEnv, generateAndIngest, type PipelineEnv } from './pipeline.ts';

// Rows are R 5..1, columns F 1..5 (docs/dbt.md, RFM).
const GRID: Record<number, string[]> = {
  5: ['New', 'Potential Loyalists', 'Potential Loyalists', 'Champions', 'Champions'],
  4: ['Promising', 'Potential Loyalists', 'Potential Loyalists', 'Loyal', 'Loyal'],
  3: ['About to Sleep', 'About to Sleep', 'Need Attention', 'Loyal', 'Loyal'],
  2: ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose Them"],
  1: ['Lost', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose Them"],
};

type Rows = Array<Record<string, unknown>>;

describe('marts against an independent computation over the source', () => {
  let env: PipelineEnv;
  let runner: ReturnType<typeof dbtRunner>;
  let source: mysql.Connection;

  const shopQuery = async (sql: string): Promise<Rows> => (await source.query(sql))[0] as Rows;
  const martQuery = (sql: string): Promise<Rows> =>
    withPg(env.warehouse.adminUrl, async (client) => (await client.query(sql)).rows as Rows);

  beforeAll(async () => {
    env = await createPipelineEnv('dbt_independent');
    runner = dbtRunner(env.config);
    await generateAndIngest(
      env,
      { from: '2024-11-01', to: '2025-01-31', customers: 400, products: 40, orders: 2500, seed: 7 },
      { anomalies: true },
    );
    await runner.dbt(['build']);
    source = await mysql.createConnection({ uri: env.shop.url, dateStrings: true, decimalNumbers: false });
    source.on('error', () => undefined);
  }, 900_000);

  afterAll(async () => {
    await source?.end().catch(() => undefined);
    runner?.cleanup();
    await env?.drop();
  });

  it('daily revenue: orders, gross and net per day, to the cent', async () => {
    const expected = await shopQuery(`
      select date_format(placed_at, '%Y-%m-%d') as day,
             count(*) as orders,
             cast(sum(total_amount) as char) as gross,
             cast(sum(case when status in ('cancelled', 'returned') then 0 else total_amount end) as char) as net
        from orders group by 1 order by 1`);
    const actual = await martQuery(`
      select to_char(revenue_date, 'YYYY-MM-DD') as day, order_count as orders,
             gross_revenue::text as gross, net_revenue::text as net
        from marts.revenue_daily where order_count > 0 order by 1`);
    expect(expected.length).toBeGreaterThan(60);
    expect(actual.map((r) => ({ ...r, orders: Number(r.orders) }))).toEqual(
      expected.map((r) => ({ ...r, orders: Number(r.orders), net: Number(r.net).toFixed(2) })),
    );
  });

  it('repeat purchase rate as of the last day', async () => {
    const [expected] = await shopQuery(`
      select count(*) as buyers, sum(orders >= 2) as repeaters
        from (select customer_id, count(*) as orders from orders where status <> 'cancelled' group by customer_id) as per_customer`);
    const [actual] = await martQuery(`
      select cumulative_buying_customers as buyers, cumulative_repeat_customers as repeaters, repeat_purchase_rate::text as rate
        from marts.repeat_purchase_rate order by order_month desc limit 1`);
    const buyers = Number(expected?.buyers);
    const repeaters = Number(expected?.repeaters);
    expect(buyers).toBeGreaterThan(100);
    expect(repeaters).toBeGreaterThan(0);
    expect({ buyers: Number(actual?.buyers), repeaters: Number(actual?.repeaters) }).toEqual({ buyers, repeaters });
    expect(actual?.rate).toBe((Math.round((repeaters / buyers) * 10_000) / 10_000).toFixed(4));
  });

  it('cohort sizes and retention by months since first order, zero cells included', async () => {
    const expected = await shopQuery(`
      with firsts as (
             select customer_id, min(date_format(placed_at, '%Y-%m-01')) as cohort
               from orders where status <> 'cancelled' group by customer_id),
           active as (
             select distinct customer_id, date_format(placed_at, '%Y-%m-01') as month
               from orders where status <> 'cancelled'),
           sizes as (select cohort, count(*) as size from firsts group by cohort)
      select f.cohort, period_diff(date_format(a.month, '%Y%m'), date_format(f.cohort, '%Y%m')) as months,
             count(*) as active, s.size
        from firsts f join active a on a.customer_id = f.customer_id join sizes s on s.cohort = f.cohort
       group by 1, 2, 4 order by 1, 2`);
    const actual = await martQuery(`
      select to_char(cohort_month, 'YYYY-MM-DD') as cohort, months_since_first_order as months,
             active_customers as active, cohort_size as size
        from marts.customer_cohorts_monthly order by 1, 2`);
    const normalise = (rows: Rows) =>
      rows.map((r) => ({ cohort: String(r.cohort), months: Number(r.months), active: Number(r.active), size: Number(r.size) }));
    const withActivity = normalise(actual).filter((r) => r.active > 0);
    expect(withActivity).toEqual(normalise(expected));
    // Zero cells exist: every cohort has a row for every month up to the last one.
    const cohorts = new Set(normalise(actual).map((r) => r.cohort));
    const lastMonth = [...cohorts].sort().at(-1) as string;
    for (const cohort of cohorts) {
      const months =
        (Number(lastMonth.slice(0, 4)) - Number(cohort.slice(0, 4))) * 12 + Number(lastMonth.slice(5, 7)) - Number(cohort.slice(5, 7));
      expect(normalise(actual).filter((r) => r.cohort === cohort).length).toBe(months + 1);
    }
  });

  it('RFM segment counts', async () => {
    // R = ceil(5 x share of customers whose last order is no later), computed from the rank of
    // the later ones; F = 1, 2, 3, 4, 5+ orders (var rfm_frequency_thresholds' default).
    const scored = await shopQuery(`
      with per_customer as (
             select customer_id, max(date(placed_at)) as last_day, count(*) as orders
               from orders where status <> 'cancelled' group by customer_id),
           ranked as (
             select customer_id, orders, (select count(*) from per_customer) as n,
                    rank() over (order by last_day desc) as later_rank
               from per_customer)
      select customer_id,
             (5 * (n - later_rank + 1) + n - 1) div n as r,
             least(orders, 5) as f
        from ranked`);
    const expected: Record<string, number> = {};
    for (const row of scored) {
      const segment = (GRID[Number(row.r)] as string[])[Number(row.f) - 1] as string;
      expected[segment] = (expected[segment] ?? 0) + 1;
    }
    const actual: Record<string, number> = {};
    for (const row of await martQuery(`select rfm_segment, count(*) as n from marts.customer_rfm_segments group by 1`)) {
      actual[String(row.rfm_segment)] = Number(row.n);
    }
    expect(Object.keys(expected).length).toBeGreaterThan(5);
    expect(actual).toEqual(expected);
  });

  it('bi_reader reads the marts and nothing upstream', async () => {
    const url = roleUrl(env.config, 'bi_reader');
    await withPg(url, async (client) => {
      const { rows } = await client.query<{ n: string }>('select count(*) as n from marts.revenue_daily');
      expect(Number(rows[0]?.n)).toBeGreaterThan(0);
      await expect(client.query('select 1 from staging.stg_shop__orders limit 1')).rejects.toMatchObject({ code: '42501' });
    });
  });
});
