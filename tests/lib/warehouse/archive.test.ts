/**
 * Raw retention end to end: load days older than RAW_RETENTION_DAYS are written to Parquet,
 * read back, and dropped; rehydrating them restores every row exactly, and staging rebuilt from
 * scratch afterwards equals staging before the archive. Also pinned: a day staging has not read
 * past is never archived, a drop whose rows do not match the file drops nothing, and a day still
 * in the warehouse is not restored twice.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
const archiveDir = mkdtempSync(join(tmpdir(), 'shopflow-archive-'));

/** Typed events (as the Kafka ingestor lands them: nulls, empty and non-ASCII texts) and JSON ones, loaded `daysAgo`. */
const seed = (first: number, daysAgo: number) => `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, schema_version,
    session_id, customer_id, anonymous_id, device, country_code, page_url, referrer, product_id, price, quantity, cart_value,
    item_count, order_id, order_total, kafka_timestamp, _loaded_at)
select 'shop.events', g % 3, g, 's' || (g / 5), 'e-' || g,
       (array['page_view', 'product_view', 'add_to_cart', 'checkout_started', 'order_placed'])[1 + g % 5],
       timestamptz '2025-06-01 00:00:00.123456+00' + g * interval '7 minutes', 1,
       's' || (g / 5), case when g % 4 = 0 then null else g / 5 end, 'a' || (g / 5), 'mobile', 'DE',
       '/produkte/größe-' || g, case when g % 3 = 0 then '' end, case when g % 5 in (1, 2) then g % 50 + 1 end,
       case when g % 5 in (1, 2) then 19.99 + g % 7 end, case when g % 5 = 2 then 1 + g % 3 end,
       case when g % 5 = 3 then 59.97 end, case when g % 5 = 3 then 3 end,
       case when g % 5 = 4 then g end, case when g % 5 = 4 then 101.5 end,
       now() - interval '${daysAgo} days', now() - interval '${daysAgo} days' + g * interval '1 millisecond'
from generate_series(${first}, ${first + 399}) as g;
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload, _loaded_at)
select 'shop.events', 5, g, 'j' || g, 'j-' || g, 'page_view', timestamptz '2025-06-02 00:00:00+00' + g * interval '1 minute',
       jsonb_build_object('schema_version', 1, 'event_id', 'j-' || g, 'event_type', 'page_view',
                          'event_time', to_char(timestamptz '2025-06-02 00:00:00+00' + g * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                          'session_id', 'j' || g, 'anonymous_id', 'aj' || g, 'device', 'desktop', 'country_code', 'FR',
                          'page_url', '/p?q="quoted",comma', 'note', 'a field staging does not know'),
       now() - interval '${daysAgo} days'
from generate_series(${first}, ${first + 19}) as g`;

const RAW_DIGEST = `select count(*)::int as n, md5(string_agg(e::text, '|' order by topic, kafka_partition, kafka_offset)) as digest from raw.shop_events as e`;
const STAGING_DIGEST = `select count(*)::int as n, md5(string_agg(s::text, '|' order by event_id)) as digest from staging.stg_clickstream__events as s`;
const partitionOf = async (daysAgo: number) =>
  (
    await admin.query<{ present: boolean }>(
      `select to_regclass('raw.shop_events_' || to_char((now() at time zone 'UTC')::date - $1::int, 'YYYYMMDD')) is not null as present`,
      [daysAgo],
    )
  ).rows[0]!.present;

beforeAll(async () => {
  warehouse = await createTestWarehouse('raw-archive');
  config = { ...warehouse.config, RAW_RETENTION_DAYS: 5, RAW_ARCHIVE_DIR: archiveDir };
  runner = dbtRunner(warehouse.config);
  admin = new pg.Client({ connectionString: warehouse.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  for (const daysAgo of [10, 9])
    await admin.query(`select raw.create_shop_events_partition((now() at time zone 'UTC')::date - ${daysAgo})`);
  await admin.query(seed(0, 10));
  await admin.query(seed(1000, 9));
  await admin.query(seed(2000, 0));
});
afterAll(async () => {
  await admin?.end();
  runner?.cleanup();
  await warehouse?.drop();
  rmSync(archiveDir, { recursive: true, force: true });
});

describe('raw retention', { timeout: 600_000 }, () => {
  let rawBefore: { n: number; digest: string };
  let stagingBefore: { n: number; digest: string };

  it('holds every due day while staging has not read past it', async () => {
    const plan = await planArchive(config);
    expect(plan.days).toEqual([]);
    expect(plan.held.map((h) => h.reason)).toEqual([expect.stringContaining('staging'), expect.stringContaining('staging')]);
  });

  it('archives the days older than the retention to verified Parquet files and drops them', async () => {
    await runner.dbt(['run', '--select', 'stg_clickstream__event_rejects', 'stg_clickstream__events']);
    rawBefore = (await admin.query(RAW_DIGEST)).rows[0];
    stagingBefore = (await admin.query(STAGING_DIGEST)).rows[0];
    expect(stagingBefore.n).toBe(1260);

    const dry = await archiveRaw(config, { dryRun: true });
    expect(dry.plan.days).toHaveLength(2);
    expect(dry.archived).toEqual([]);
    expect(await partitionOf(10)).toBe(true);

    const { archived } = await archiveRaw(config);
    expect(archived.map((m) => m.rows)).toEqual([420, 420]);
    for (const manifest of archived) {
      expect(manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(existsSync(join(archiveDir, 'raw', 'shop_events', `load_day=${manifest.loadDay}`, 'shop_events.parquet'))).toBe(true);
    }
    expect(await partitionOf(10)).toBe(false);
    expect(await partitionOf(9)).toBe(false);
    expect((await admin.query(RAW_DIGEST)).rows[0].n).toBe(420);
    // Nothing left to do on a second run.
    expect((await archiveRaw(config)).archived).toEqual([]);
  });

  it('rehydrates them row for row, refuses a second restore, and staging rebuilt from scratch equals staging before', async () => {
    const [from, to] = [10, 9].map((d) => new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10)) as [string, string];
    const restored = await rehydrateRaw(config, from, to);
    expect(restored.map((m) => m.rows)).toEqual([420, 420]);
    expect((await admin.query(RAW_DIGEST)).rows[0]).toEqual(rawBefore);
    await expect(rehydrateRaw(config, from, to)).rejects.toThrow(/would duplicate them/);

    await runner.dbt(['run', '--full-refresh', '--select', 'stg_clickstream__event_rejects', 'stg_clickstream__events']);
    expect((await admin.query(STAGING_DIGEST)).rows[0]).toEqual(stagingBefore);
  });

  it('drops nothing when the rows differ from what the archive read back', async () => {
    const { rows } = await admin.query<{ dropped: boolean }>(
      `select raw.drop_archived_shop_events_partition((now() at time zone 'UTC')::date - 10, 419, 0) as dropped`,
    );
    expect(rows[0]!.dropped).toBe(false);
    expect(await partitionOf(10)).toBe(true);
  });
});
