/**
 * Staging never dies on one row. A value the staging casts cannot hold, written straight into
 * raw (as a DBA or a bad producer would), used to fail `dbt build` on every run from then on,
 * skipping 30+ nodes, while the marts gate passed on stale marts. Now: the build is green,
 * the rejects models list each bad row with its reason and source position, the rest of the
 * data flows, an incremental run does not list a reject twice, a later correction resolves
 * it, and the marts gate fails naming the rejects until then.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runGate } from '../../great_expectations/run.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { dbtRunner, withPg } from './helpers.ts';
import { loadWorld } from './fixtures/load.ts';
import { FixtureWorld } from './fixtures/world.ts';

// Shop changes staging cannot type, as the CDC ingestor lands them in the typed change log: a
// value its raw column cannot hold is kept in _unmapped (money past numeric(12,2), a date with no
// real day), a value the raw column holds may still be past staging's type (an unsigned key past
// bigint, an INT column past integer). Each would have failed a cast of shop_columns().
const NEXT_ID = `nextval('raw.shop_changes_change_id_seq')`;
const BAD_CHANGES = `
insert into raw_shop.orders
select (jsonb_populate_record(null::raw_shop.orders, to_jsonb(o) || jsonb_build_object(
         'change_id', ${NEXT_ID}, 'operation', 'update', 'binlog_file', 'mariadb-bin.000042', 'binlog_position', 4242,
         'source_committed_at', now(), '_loaded_at', now(), 'total_amount', null,
         '_unmapped', '{"total_amount": "123456789012.50"}'::jsonb))).*
  from raw_shop.orders o where o.operation <> 'delete' order by change_id desc limit 1;
insert into raw_shop.customers (change_id, operation, binlog_file, binlog_position, source_committed_at, _key, _unmapped,
                                customer_id, email, first_name, last_name, country_code, city, signup_channel, created_at, updated_at)
values (${NEXT_ID}, 'insert', 'mariadb-bin.000042', 4343, now(), '{"customer_id": 900001}', '{"signed_up_at": "2024-00-15 10:00:00"}',
        900001, 'x@example.com', 'X', 'Y', 'DE', 'Berlin', 'organic', '2024-01-15 10:00:00', '2024-01-15 10:00:00');
insert into raw_shop.order_items (change_id, operation, binlog_file, binlog_position, source_committed_at, _key,
                                  order_item_id, order_id, product_id, quantity, unit_price, discount_amount, line_total, created_at, updated_at)
values (${NEXT_ID}, 'insert', 'mariadb-bin.000042', 4444, now(), '{"order_item_id": 18446744073709551615}',
        18446744073709551615, 1, 1, 2147483648, 1.00, 0.00, 1.00, '2024-01-15 10:00:00', '2024-01-15 10:00:00');
`;

// Untypeable clickstream messages, landed at the newest load time so an incremental build reads them.
const BAD_EVENTS = `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload, _loaded_at)
select 'shop.events', 5, 900000 + n, 's-bad', 'bad-' || n, event_type, event_time, payload, (select max(_loaded_at) from raw.shop_events)
  from (values
    (1, 'add_to_cart', timestamptz '2025-01-10 10:00:00+00', '{"session_id": "s-bad", "anonymous_id": "a", "device": "mobile", "product_id": 1, "price": 12.5, "quantity": 2.0}'::jsonb),
    (2, 'order_placed', timestamptz '2025-01-10 10:00:00+00', '{"session_id": "s-bad", "anonymous_id": "a", "device": "mobile", "order_id": 99999999999999999999, "order_total": 1e12, "item_count": 1}'::jsonb),
    (3, 'page_view', timestamptz '9999-12-31 00:00:00+00', '{"session_id": "s-bad", "anonymous_id": "a", "device": "mobile"}'::jsonb),
    (4, 'page_view', timestamptz '2025-01-10 10:00:00+00', '[1, 2, 3]'::jsonb),
    (5, 'teleport', timestamptz '2025-01-10 10:00:00+00', '{"session_id": "s-bad", "anonymous_id": "a", "device": "mobile"}'::jsonb)
  ) as bad (n, event_type, event_time, payload);
-- The same two rule failures in rows landed typed, as the Kafka ingestor writes them (payload null).
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time,
                             schema_version, session_id, anonymous_id, device, country_code, _loaded_at)
select 'shop.events', 5, 900000 + n, 's-bad', 'bad-' || n, event_type, event_time, 1, 's-bad', 'a', 'mobile', 'DE',
       (select max(_loaded_at) from raw.shop_events)
  from (values
    (6, 'page_view', timestamptz '9999-12-31 00:00:00+00'),
    (7, 'teleport', timestamptz '2025-01-10 10:00:00+00')
  ) as bad (n, event_type, event_time);
`;

type Rows = Array<Record<string, unknown>>;

// A dbt build (or a GX run) takes minutes on a busy 2-core machine.
const DBT_TIMEOUT = { timeout: 600_000 };

describe('rows staging cannot type', () => {
  let warehouse: TestWarehouse;
  let runner: ReturnType<typeof dbtRunner>;
  const query = (sql: string) => withPg(warehouse.adminUrl, async (client: pg.Client) => (await client.query(sql)).rows as Rows);

  beforeAll(async () => {
    warehouse = await createTestWarehouse('dbt_rejects');
    runner = dbtRunner(warehouse.config);
    const world = new FixtureWorld({ seed: 7, days: 12, customers: 30, products: 8, ordersPerDay: 4 }).seed().advance(10);
    await loadWorld(warehouse.adminUrl, world);
    // First build on clean data: the rejects models are then incremental for the bad rows.
    await runner.dbt(['build', '--exclude', 'resource_type:snapshot']);
    await query(BAD_CHANGES + BAD_EVENTS);
  }, 900_000);

  afterAll(async () => {
    runner?.cleanup();
    await warehouse?.drop();
  });

  it('leaves dbt build green and lists every bad row with its reason and position', DBT_TIMEOUT, async () => {
    const result = await runner.dbt(['build', '--exclude', 'resource_type:snapshot']);
    expect(result.exitCode ?? 0).toBe(0);

    const changes = await query(
      `select table_name, operation, binlog_file, binlog_position, reject_reason from staging.stg_shop__change_rejects order by binlog_position`,
    );
    expect(changes).toEqual([
      {
        table_name: 'orders',
        operation: 'update',
        binlog_file: 'mariadb-bin.000042',
        binlog_position: '4242',
        reject_reason: `total_amount '123456789012.50' is not a numeric(12, 2)`,
      },
      {
        table_name: 'customers',
        operation: 'insert',
        binlog_file: 'mariadb-bin.000042',
        binlog_position: '4343',
        reject_reason: `signed_up_at '2024-00-15 10:00:00' is not a timestamptz`,
      },
      {
        table_name: 'order_items',
        operation: 'insert',
        binlog_file: 'mariadb-bin.000042',
        binlog_position: '4444',
        reject_reason: `primary key order_item_id '18446744073709551615' is not a bigint; quantity '2147483648' is not a integer`,
      },
    ]);

    const events = await query(
      `select event_id, kafka_partition, kafka_offset::int as kafka_offset, reject_reason from staging.stg_clickstream__event_rejects order by kafka_offset`,
    );
    expect(events.map((e) => [e.event_id, e.kafka_partition, e.kafka_offset])).toEqual([
      ['bad-1', 5, 900001],
      ['bad-2', 5, 900002],
      ['bad-3', 5, 900003],
      ['bad-4', 5, 900004],
      ['bad-5', 5, 900005],
      ['bad-6', 5, 900006],
      ['bad-7', 5, 900007],
    ]);
    expect(events.map((e) => e.reject_reason)).toEqual([
      `quantity '2.0' is not a integer`,
      `order_id '99999999999999999999' is not a bigint; order_total '1000000000000' is not a numeric(12, 2)`,
      expect.stringMatching(/^event_time 9999-12-31 .* is before 1970-01-01 00:00:00\+00 or not before 2100-01-01 00:00:00\+00$/),
      'payload is a JSON array, not an object',
      `event_type 'teleport' is not a clickstream event type`,
      expect.stringMatching(/^event_time 9999-12-31 .* is before 1970-01-01 00:00:00\+00 or not before 2100-01-01 00:00:00\+00$/),
      `event_type 'teleport' is not a clickstream event type`,
    ]);

    // The good rows flowed: the bad update left the order at its previous (typeable) state.
    const [order] = await query(`select o.total_amount::text from staging.stg_shop__orders o
      join staging.stg_shop__change_rejects r on r.primary_key ->> 'order_id' = o.order_id::text`);
    expect(order?.total_amount).not.toBe('123456789012.50');
    expect(await query(`select count(*)::int as n from staging.stg_clickstream__events where event_id like 'bad-%'`)).toEqual([{ n: 0 }]);

    const mart = await query(
      `select source_name, count(*)::int as n, bool_or(is_resolved) as any_resolved from marts.ops_staging_rejects group by 1 order by 1`,
    );
    expect(mart).toEqual([
      { source_name: 'clickstream', n: 7, any_resolved: false },
      { source_name: 'shop', n: 3, any_resolved: false },
    ]);
  });

  it('does not list a reject twice on the next incremental build', DBT_TIMEOUT, async () => {
    await runner.dbt(['build', '--exclude', 'resource_type:snapshot']);
    expect(await query(`select count(*)::int as n from staging.stg_shop__change_rejects`)).toEqual([{ n: 3 }]);
    expect(await query(`select count(*)::int as n from staging.stg_clickstream__event_rejects`)).toEqual([{ n: 7 }]);
  });

  it('fails the marts gate naming the unresolved rejects', DBT_TIMEOUT, async () => {
    const summary = await runGate(warehouse.config, 'marts');
    const rejects = summary.failures.filter((f) => f.suite === 'marts_ops_staging_rejects');
    expect(summary.success).toBe(false);
    expect(rejects.map((f) => f.expectation)).toEqual(['rejects: every source row staging could not type is resolved']);
    expect(rejects[0]!.details).toContain('"source_tables": "customers, order_items, orders"');
    expect(rejects[0]!.details).toContain('"source_tables": "shop.events"');
    expect(rejects[0]!.details).toContain('"unresolved_rejects": 7');
  });

  it('marks a reject resolved once the source row is corrected', DBT_TIMEOUT, async () => {
    // The shop writes the order again with its consistent total (the bad update's before image).
    await query(`insert into raw_shop.orders
      select (jsonb_populate_record(null::raw_shop.orders, to_jsonb(o) || jsonb_build_object(
               'change_id', ${NEXT_ID}, 'binlog_file', 'mariadb-bin.000042', 'binlog_position', 5000,
               'source_committed_at', now(), '_loaded_at', now()))).*
        from raw_shop.orders o
       where o._key::jsonb = (select _key::jsonb from raw_shop.orders where binlog_position = 4242)
         and o.binlog_position is distinct from 4242
       order by o.change_id desc limit 1`);
    const [fixed] = await query(`select total_amount::text as total from raw_shop.orders where binlog_position = 5000`);
    await runner.dbt(['build', '--exclude', 'resource_type:snapshot']);
    expect(
      await query(`select source_table, is_resolved from marts.ops_staging_rejects where source_name = 'shop' order by change_id`),
    ).toEqual([
      { source_table: 'orders', is_resolved: true },
      { source_table: 'customers', is_resolved: false },
      { source_table: 'order_items', is_resolved: false },
    ]);
    const [order] = await query(`select o.total_amount::text from staging.stg_shop__orders o
      join staging.stg_shop__change_rejects r on r.primary_key ->> 'order_id' = o.order_id::text`);
    expect(order?.total_amount).toBe(fixed?.total);
  });
});
