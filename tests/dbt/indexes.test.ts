/**
 * Indexes an incremental model gained or changed after its table was first built converge on
 * the next run (dbt/macros/indexes.sql), with no full refresh: dbt's `indexes` config only acts
 * when a table is created, and after raw retention a full refresh cannot rebuild what left.
 * Here: a fresh build has int_visitor_days' unique index led by the day and staging's index on
 * event_at; a warehouse with the earlier indexes (unique on visitor then day, one on the day,
 * none on event_at) has exactly the new ones after one incremental run, which still adds its
 * rows, and a run after that changes nothing. int_visitor_days also keeps its autovacuum
 * setting (macros/indexes.sql vacuum_after_inserts) the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { dbtRunner, withPg } from './helpers.ts';

const RUN = ['run', '--select', '+int_visitor_days'];

/** `count` page views of one visitor a day apart, from offset `first` on. */
const events = (first: number, count: number) => `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time,
                             session_id, anonymous_id, payload)
select 'shop.events', 0, g, 's' || g, 'e-' || g, 'page_view', timestamptz '2024-03-01 12:00:00+00' + g * interval '1 day',
       's' || g, 'anon-1', jsonb_build_object('session_id', 's' || g, 'anonymous_id', 'anon-1', 'page_url', '/')
from generate_series(${first}, ${first + count - 1}) as g`;

describe('index convergence on incremental models', () => {
  let warehouse: TestWarehouse;
  let runner: ReturnType<typeof dbtRunner>;
  const sql = <T extends Record<string, unknown>>(text: string) =>
    withPg(warehouse.config.WAREHOUSE_URL, async (client) => (await client.query<T>(text)).rows);

  /** Each index of a table as "unique (a, b)" or "(a)", sorted. */
  const indexes = async (table: string) =>
    (
      await sql<{ shape: string }>(`
        select case when i.indisunique then 'unique ' else '' end || '(' || string_agg(a.attname, ', ' order by k.position) || ')' as shape
        from pg_index as i
        cross join unnest(i.indkey::int2[]) with ordinality as k (attnum, position)
        inner join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum
        where i.indrelid = '${table}'::regclass
        group by i.indexrelid, i.indisunique`)
    )
      .map((r) => r.shape)
      .sort();

  beforeAll(async () => {
    warehouse = await createTestWarehouse('dbt_indexes');
    runner = dbtRunner(warehouse.config);
    await sql(events(0, 3));
  });

  afterAll(async () => {
    runner?.cleanup();
    await warehouse?.drop();
  });

  it('builds the new indexes on a fresh table', async () => {
    await runner.dbt(RUN);
    expect(await indexes('intermediate.int_visitor_days')).toEqual(['(first_loaded_at)', 'unique (event_date, visitor_id)']);
    expect(await indexes('staging.stg_clickstream__events')).toContain('(event_at)');
    expect((await sql<{ n: number }>(`select count(*)::int as n from intermediate.int_visitor_days`))[0]!.n).toBe(3);
  });

  it('moves a warehouse built with the earlier indexes to the new ones on its next incremental run', async () => {
    await sql(`
      do $$ begin
        execute 'drop index intermediate.int_visitor_days__event_date__visitor_id';
        execute 'create unique index earlier_unique on intermediate.int_visitor_days (visitor_id, event_date)';
        execute 'create index earlier_day on intermediate.int_visitor_days (event_date)';
        execute 'drop index staging.stg_clickstream__events__event_at';
      end $$`);
    expect(await indexes('intermediate.int_visitor_days')).toEqual([
      '(event_date)',
      '(first_loaded_at)',
      'unique (visitor_id, event_date)',
    ]);
    await sql(events(3, 2));

    await runner.dbt(RUN);
    expect(await indexes('intermediate.int_visitor_days')).toEqual(['(first_loaded_at)', 'unique (event_date, visitor_id)']);
    expect(await indexes('staging.stg_clickstream__events')).toContain('(event_at)');
    expect((await sql<{ n: number }>(`select count(*)::int as n from intermediate.int_visitor_days`))[0]!.n).toBe(5);

    await runner.dbt(RUN);
    expect(await indexes('intermediate.int_visitor_days')).toEqual(['(first_loaded_at)', 'unique (event_date, visitor_id)']);
  });

  it('has autovacuum visit int_visitor_days every 10k new pairs, and alters the table only when that differs', async () => {
    const table = async () =>
      (
        await sql<{ reloptions: string[] | null; xmin: string }>(
          `select reloptions, xmin::text from pg_class where oid = 'intermediate.int_visitor_days'::regclass`,
        )
      )[0]!;
    const wanted = ['autovacuum_vacuum_insert_threshold=10000', 'autovacuum_vacuum_insert_scale_factor=0'];
    expect((await table()).reloptions).toEqual(expect.arrayContaining(wanted));

    // A warehouse built before the setting, or an operator's other value: the next run sets it.
    await sql(`alter table intermediate.int_visitor_days reset (autovacuum_vacuum_insert_threshold)`);
    await sql(`alter table intermediate.int_visitor_days set (fillfactor = 100)`);
    await sql(events(5, 1));
    await runner.dbt(RUN);
    const set = await table();
    expect(set.reloptions).toEqual(expect.arrayContaining([...wanted, 'fillfactor=100']));

    // Already set: the run leaves the catalog row alone (an ALTER TABLE would have rewritten it).
    await sql(events(6, 1));
    await runner.dbt(RUN);
    expect(await table()).toEqual(set);
  });
});
