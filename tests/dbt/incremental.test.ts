/**
 * Incremental runs must give exactly what a full refresh gives. A regression here means an
 * incremental model misses late changes (an order cancelled days later, a customer who
 * moved, a re-sent event) or keeps rows the source deleted: numbers drift day by day and
 * only a full refresh would show it.
 *
 * Flow: land 40 days, dbt build; land 10 more days plus a late re-send and a hard delete,
 * dbt build (incremental); copy every incremental model; dbt build --full-refresh; compare
 * each copy with the rebuilt table with EXCEPT in both directions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { dbtRunner, withPg } from './helpers.ts';
import { loadWorld } from './fixtures/load.ts';
import { FixtureWorld } from './fixtures/world.ts';

/** Every incremental model, with columns that legitimately differ (none but one watermark). */
const INCREMENTAL_MODELS: ReadonlyArray<{ relation: string; ignore?: string[] }> = [
  { relation: 'staging.stg_shop__customers' },
  { relation: 'staging.stg_shop__customer_versions' },
  { relation: 'staging.stg_shop__products' },
  { relation: 'staging.stg_shop__product_versions' },
  { relation: 'staging.stg_shop__inventory' },
  { relation: 'staging.stg_shop__inventory_versions' },
  { relation: 'staging.stg_shop__orders' },
  { relation: 'staging.stg_shop__order_items' },
  { relation: 'staging.stg_shop__payments' },
  { relation: 'staging.stg_shop__restocks' },
  { relation: 'staging.stg_clickstream__events' },
  { relation: 'intermediate.int_visitor_days' },
  { relation: 'marts.fct_orders' },
  { relation: 'marts.fct_order_items' },
  { relation: 'marts.fct_payments' },
  { relation: 'marts.fct_sessions' },
  // The build watermark stamps every row a full refresh writes; incremental runs leave old days' stamp.
  { relation: 'marts.fct_inventory_daily', ignore: ['source_change_id'] },
  // Rebuilds only the days new loads touch; the watermark stamps the rows each build writes.
  { relation: 'marts.active_users_daily', ignore: ['clickstream_loaded_at'] },
  { relation: 'marts.conversion_funnel_daily' },
  { relation: 'intermediate.int_raw_loads_daily' },
  { relation: 'intermediate.int_category_sales_daily' },
  // Full-rebuild marts downstream of them, as a check that they see the same inputs.
  { relation: 'marts.revenue_daily' },
  { relation: 'marts.customer_rfm_segments' },
  { relation: 'marts.customer_cohorts_monthly' },
  { relation: 'marts.category_revenue_weekly' },
  // Rescores only the orders a change can move, old orders on a changed card included.
  { relation: 'intermediate.int_order_fraud_signals' },
  { relation: 'marts.suspected_fraud_orders' },
];

describe('incremental models equal a full refresh', () => {
  let warehouse: TestWarehouse;
  let runner: ReturnType<typeof dbtRunner>;

  beforeAll(async () => {
    warehouse = await createTestWarehouse('dbt_incremental');
    runner = dbtRunner(warehouse.config);
  });

  afterAll(async () => {
    runner?.cleanup();
    await warehouse?.drop();
  });

  it('after adding days of data, incremental and full-refresh builds agree row for row', async () => {
    const world = new FixtureWorld({ seed: 11, days: 50, customers: 80, products: 16, ordersPerDay: 6 }).seed().advance(40);
    // Load times follow the data (a minute after each row), so the second build's watermarks
    // leave the first 40 days behind, as they would in production.
    const stamped = { loadDelayMs: 60_000 };
    // A card ring across accounts in the first load: one order's card tried on another's order.
    // Orders of the first days: finished before the second load, which changes nothing else of
    // theirs (deleteOldestPayment below takes the very first order's payment).
    const paidByCard = world.cardPaidOrders();
    const [ringOwner, ringOrder, laterOwner, laterOrder] = paidByCard.slice(10, 14) as [number, number, number, number];
    const ringPayment = world.attemptWithCardOf(ringOrder, ringOwner);
    const state = await loadWorld(warehouse.adminUrl, world, undefined, stamped);
    await runner.dbt(['build']);
    await withPg(warehouse.adminUrl, async (client) => {
      const { rows } = await client.query<{ card_country_count: number }>(
        'select card_country_count from intermediate.int_order_fraud_signals where order_id = any($1) order by order_id',
        [[ringOwner, ringOrder]],
      );
      expect(rows.map((r) => r.card_country_count)).toEqual([2, 2]);
    });

    world.advance(10);
    world.resendEvent(3);
    // Loaded with the new days, timed before a session 20 days back: that session now starts a
    // day earlier, so both days of the funnel (and the activity around them) change.
    expect(world.lateEvent(20)).toBeDefined();
    const deleted = world.deleteCustomerWithoutOrders();
    expect(deleted).toBeDefined();
    // A row of a fact from the first load disappears from the shop: the facts must drop it too.
    const deletedPayment = world.deleteOldestPayment();
    expect(deletedPayment).toBeDefined();
    // The fraud signals of orders the second load does not touch still move: the ring's
    // attempt is moved to another card (its card's owner drops back to one country: only the
    // kept row says where the attempt was), and a new attempt uses an old order's card.
    world.changePaymentCard(ringPayment, 'fp-corrected');
    world.attemptWithCardOf(laterOrder, laterOwner);
    await loadWorld(warehouse.adminUrl, world, state, stamped);
    await runner.dbt(['build']);

    const columns = new Map<string, string[]>();
    await withPg(warehouse.adminUrl, async (client) => {
      await client.query('create schema incremental_result');
      for (const { relation, ignore = [] } of INCREMENTAL_MODELS) {
        const [schema, table] = relation.split('.') as [string, string];
        const { rows } = await client.query<{ column_name: string }>(
          `select column_name from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`,
          [schema, table],
        );
        const kept = rows.map((r) => r.column_name).filter((c) => !ignore.includes(c));
        expect(kept.length, `${relation} has columns`).toBeGreaterThan(0);
        columns.set(relation, kept);
        await client.query(`create table incremental_result.${table} as select * from ${relation}`);
      }
    });

    await runner.dbt(['build', '--full-refresh']);

    await withPg(warehouse.adminUrl, async (client) => {
      const differences: Record<string, { onlyIncremental: number; onlyFullRefresh: number; rows: number }> = {};
      for (const { relation } of INCREMENTAL_MODELS) {
        const table = relation.split('.')[1] as string;
        const list = (columns.get(relation) as string[]).map((c) => `"${c}"`).join(', ');
        const count = async (sql: string) =>
          Number((await client.query<{ n: string }>(`select count(*) as n from (${sql}) as d`)).rows[0]?.n);
        const incremental = `select ${list} from incremental_result.${table}`;
        const full = `select ${list} from ${relation}`;
        differences[relation] = {
          onlyIncremental: await count(`${incremental} except all ${full}`),
          onlyFullRefresh: await count(`${full} except all ${incremental}`),
          rows: await count(full),
        };
      }
      for (const [relation, diff] of Object.entries(differences)) {
        expect(diff.rows, `${relation} is not empty`).toBeGreaterThan(0);
        expect({ relation, ...diff }).toEqual({ relation, onlyIncremental: 0, onlyFullRefresh: 0, rows: diff.rows });
      }
      // The late re-send did not create a second event, and the deleted customer is gone.
      const dupes = await client.query(`select event_id from marts.fct_events group by 1 having count(*) > 1`);
      expect(dupes.rowCount).toBe(0);
      const live = await client.query(`select 1 from staging.stg_shop__customers where customer_id = $1`, [deleted]);
      expect(live.rowCount).toBe(0);
      const payment = await client.query(`select 1 from marts.fct_payments where payment_id = $1`, [deletedPayment]);
      expect(payment.rowCount).toBe(0);
      const marker = await client.query(`select is_deleted from marts.dim_customers where customer_id = $1 and is_deleted`, [deleted]);
      expect(marker.rowCount).toBe(1);
    });
  }, 900_000);
});
