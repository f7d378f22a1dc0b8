/**
 * Raw retention by event time within a load day: a recent load day holding a backfill's old
 * events archives them as a slice (Parquet, read back, manifest) and its partition is rewritten
 * without them, their staged rows leave with them; the day's recent events stay. Rehydrating
 * restores the slice row for row, a second restore is refused, and when the whole day is due
 * later its file takes the rehydrated slice's rows and the slice's own file goes, so the
 * archive never holds a row twice. A rewrite whose rows differ from the file changes nothing.
 * Today's load day (a backfill landed today) is sliced too, but only once staging has read
 * every event of the slice.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Config } from '../../../lib/config/index.ts';
import { archiveRaw, planArchive, rehydrateRaw } from '../../../lib/warehouse/archive/index.ts';
import { dbtRunner } from '../../dbt/helpers.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';

let warehouse: TestWarehouse;
let admin: pg.Client;
let config: Config;
let runner: ReturnType<typeof dbtRunner>;
const archiveDir = mkdtempSync(join(tmpdir(), 'shopflow-archive-slices-'));
const STAGING_MODELS = ['stg_clickstream__event_rejects', 'stg_clickstream__events'];
/** The backfill's load day: two days ago, recent under a 5-day retention. */
const LOAD_DAY = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);

/**
 * Loaded on LOAD_DAY: 300 events of a year ago (the backfill's history, with nulls, empty and
 * non-ASCII texts, and a JSON row), then 40 that happened the day they were loaded.
 */
const BACKFILL = `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, schema_version,
    session_id, customer_id, anonymous_id, device, country_code, page_url, referrer, product_id, price, quantity, _loaded_at)
select 'shop.events', g % 3, g, 's' || (g / 4), 'b-' || g,
       (array['page_view', 'product_view', 'add_to_cart'])[1 + g % 3],
       case when g < 300 then now() - interval '1 year' + g * interval '13 minutes' else now() - interval '2 days' + g * interval '1 second' end,
       1, 's' || (g / 4), case when g % 4 = 0 then null else g end, 'a' || (g / 4), 'mobile', 'DE',
       '/größe-' || g, case when g % 3 = 0 then '' end, case when g % 3 in (1, 2) then g % 50 + 1 end,
       case when g % 3 in (1, 2) then 9.99 end, case when g % 3 = 2 then 2 end,
       date_trunc('day', now() - interval '2 days') + interval '1 hour' + g * interval '1 millisecond'
from generate_series(0, 339) as g;
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload, _loaded_at)
values ('shop.events', 5, 0, 'j', 'j-0', 'page_view', now() - interval '1 year',
        jsonb_build_object('schema_version', 1, 'event_id', 'j-0', 'event_type', 'page_view',
                           'event_time', to_char(now() - interval '1 year', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                           'session_id', 'j', 'anonymous_id', 'aj', 'device', 'desktop', 'country_code', 'FR', 'page_url', '/j'),
        date_trunc('day', now() - interval '2 days') + interval '2 hours')`;

const RAW_DIGEST = `select count(*)::int as n, md5(string_agg(e::text, '|' order by topic, kafka_partition, kafka_offset)) as digest
                    from raw.shop_events as e`;
const count = async (sql: string) => (await admin.query<{ n: number }>(`select count(*)::int as n from ${sql}`)).rows[0]!.n;
const dayFolder = () => join(archiveDir, 'raw', 'shop_events', `load_day=${LOAD_DAY}`);

beforeAll(async () => {
  warehouse = await createTestWarehouse('raw-archive-slices');
  config = { ...warehouse.config, RAW_RETENTION_DAYS: 5, RAW_ARCHIVE_DIR: archiveDir };
  runner = dbtRunner(warehouse.config);
  admin = new pg.Client({ connectionString: warehouse.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.query(`select raw.create_shop_events_partition($1::date)`, [LOAD_DAY]);
  await admin.query(BACKFILL);
  // Staging reads past the load day only once something later has landed.
  await admin.query(
    `insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, schema_version,
         session_id, anonymous_id, device, country_code, page_url)
     values ('shop.events', 0, 1000, 'n', 'n-1', 'page_view', now(), 1, 'n', 'an', 'mobile', 'DE', '/new')`,
  );
});
afterAll(async () => {
  await admin?.end();
  runner?.cleanup();
  await warehouse?.drop();
  rmSync(archiveDir, { recursive: true, force: true });
});

describe('raw retention by slices of a recent load day', { timeout: 600_000 }, () => {
  let rawBefore: { n: number; digest: string };

  it('archives the old events of a recent load day as a verified slice and keeps its recent ones', async () => {
    await runner.dbt(['run', '--select', ...STAGING_MODELS]);
    rawBefore = (await admin.query(RAW_DIGEST)).rows[0];
    expect(rawBefore.n).toBe(342);

    // Below the minimum the day is left alone (an ordinary day's few events of last month).
    expect((await planArchive(config, undefined, 302)).slices).toEqual([]);
    const plan = await planArchive(config, undefined, 100);
    expect(plan.days).toEqual([]);
    expect(plan.slices).toEqual([
      { day: LOAD_DAY, eventsFrom: null, eventsBefore: `${plan.cutoff.slice(0, 7)}-01T00:00:00.000Z`, rows: 301 },
    ]);

    const { archived } = await archiveRaw(config, { sliceMinRows: 100 });
    expect(archived.map((m) => [m.rows, m.eventsBefore])).toEqual([[301, plan.slices[0]!.eventsBefore]]);
    expect(readdirSync(dayFolder()).sort()).toEqual([
      `manifest-events-before-${plan.slices[0]!.eventsBefore.slice(0, 10)}.json`,
      `shop_events-events-before-${plan.slices[0]!.eventsBefore.slice(0, 10)}.parquet`,
    ]);
    // The day's partition stays, rewritten: its 40 recent events, today's one.
    expect(await count(`raw.shop_events where _loaded_at < now() - interval '1 day'`)).toBe(40);
    expect(await count(`raw.shop_events where event_time < now() - interval '300 days'`)).toBe(0);
    expect(await count('raw.shop_events_archived_keys')).toBe(301);
    expect(
      (await admin.query(`select staged_events::int, removed_events::int, events_from from raw.shop_events_archived_slices`)).rows,
    ).toEqual([{ staged_events: 301, removed_events: 300, events_from: null }]);
    // Staging keeps the recent events, today's, and the JSON row that holds partition 5's mark.
    expect(await count('staging.stg_clickstream__events')).toBe(42);
    expect(await count(`staging.stg_clickstream__events where event_id = 'j-0'`)).toBe(1);
    // The parent's indexes were built on the rewritten partition.
    expect(
      await count(`pg_indexes where schemaname = 'raw' and tablename = 'shop_events_${LOAD_DAY.replaceAll('-', '')}'`),
    ).toBeGreaterThanOrEqual(2);
    // Nothing left to do; the staging tests, the late-event warning included, still pass.
    expect((await archiveRaw(config, { sliceMinRows: 100 })).archived).toEqual([]);
    await runner.dbt(['run', '--select', ...STAGING_MODELS]);
    await runner.dbt(['test', '--select', 'stg_clickstream__events,test_type:data']);
  });

  it('rehydrates the slice row for row and refuses a second restore', async () => {
    const restored = await rehydrateRaw(config, LOAD_DAY, LOAD_DAY);
    expect(restored.map((m) => m.rows)).toEqual([301]);
    expect((await admin.query(RAW_DIGEST)).rows[0]).toEqual(rawBefore);
    await expect(rehydrateRaw(config, LOAD_DAY, LOAD_DAY)).rejects.toThrow(/would duplicate them/);
  });

  it('archives the whole day once it is due, its file superseding the rehydrated slice, and restores it', async () => {
    const due = { ...config, RAW_RETENTION_DAYS: 1 };
    const { archived } = await archiveRaw(due, { sliceMinRows: 100 });
    expect(archived.map((m) => [m.loadDay, m.rows, m.eventsBefore])).toEqual([[LOAD_DAY, 341, undefined]]);
    expect(readdirSync(dayFolder()).sort()).toEqual(['manifest.json', 'shop_events.parquet']);
    expect(await count('raw.shop_events')).toBe(1);

    const restored = await rehydrateRaw(due, LOAD_DAY, LOAD_DAY);
    expect(restored.map((m) => m.rows)).toEqual([341]);
    expect((await admin.query(RAW_DIGEST)).rows[0]).toEqual(rawBefore);
  });

  it('rewrites nothing when the slice differs from what the archive read back', async () => {
    const { rows } = await admin.query<{ dropped: boolean }>(
      `select raw.drop_archived_shop_events_slice($1::date, null, now() - interval '30 days', 301, 0) as dropped`,
      [LOAD_DAY],
    );
    expect(rows[0]!.dropped).toBe(false);
    expect((await admin.query(RAW_DIGEST)).rows[0]).toEqual(rawBefore);
  });

  it("slices today's load day too, once staging has read every event of the slice", async () => {
    const today = new Date().toISOString().slice(0, 10);
    await admin.query(
      `insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, schema_version,
           session_id, anonymous_id, device, country_code, page_url)
       select 'shop.events', 4, g, 't', 't-' || g, 'page_view', now() - interval '2 years' + g * interval '1 minute', 1,
              't', 'at', 'mobile', 'DE', '/t'
       from generate_series(0, 149) as g`,
    );
    const before = await planArchive(config, undefined, 100);
    expect(before.slices).toEqual([]);
    expect(before.held).toEqual([{ day: today, reason: expect.stringContaining('staging has not read them all') }]);

    await runner.dbt(['run', '--select', ...STAGING_MODELS]);
    const { archived } = await archiveRaw(config, { sliceMinRows: 100 });
    expect(archived.map((m) => [m.loadDay, m.rows])).toEqual([[today, 150]]);
    expect(await count(`raw.shop_events where kafka_partition = 4`)).toBe(0);
    expect(await count(`raw.shop_events where event_id = 'n-1'`)).toBe(1);
    // Partition 4's mark stays staged.
    expect(await count(`staging.stg_clickstream__events where kafka_partition = 4`)).toBe(1);
  });
});
