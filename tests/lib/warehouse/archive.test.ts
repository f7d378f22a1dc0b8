/**
 * Raw retention end to end: load days older than RAW_RETENTION_DAYS are written to Parquet,
 * read back, and dropped, and their staged rows leave stg_clickstream__events with them (their
 * event ids kept as keys); a re-send of an archived event is still not admitted, incrementally
 * or by a full refresh; rehydrating restores every raw row exactly, and staging rebuilt from
 * scratch afterwards equals the build that never archived anything. Also pinned: a day staging
 * has not read past is never archived, the staged rows that hold a partition's mark or resolve
 * a reject stay, a drop whose rows do not match the file drops nothing, and a day still in the
 * warehouse is not restored twice.
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

/**
 * More of day 10: partition 7 has events on that day only (its last staged row holds the
 * partition's mark and must stay); in partition 8, r-1 is first rejected (unknown type) and
 * then staged corrected (its staged row resolves the reject and must stay), r-2 is the mark.
 */
const seedQuietPartitions = (daysAgo: number) => `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, schema_version,
    session_id, anonymous_id, device, country_code, page_url, _loaded_at)
values ('shop.events', 7, 0, 'q', 'q-0', 'page_view', '2025-06-03 10:00:00+00', 1, 'q', 'aq', 'mobile', 'DE', '/q0', now() - interval '${daysAgo} days'),
       ('shop.events', 7, 1, 'q', 'q-1', 'page_view', '2025-06-03 10:01:00+00', 1, 'q', 'aq', 'mobile', 'DE', '/q1', now() - interval '${daysAgo} days'),
       ('shop.events', 8, 0, 'r', 'r-1', 'bogus_type', '2025-06-03 11:00:00+00', 1, 'r', 'ar', 'mobile', 'DE', '/r1', now() - interval '${daysAgo} days'),
       ('shop.events', 8, 1, 'r', 'r-1', 'page_view', '2025-06-03 11:00:00+00', 1, 'r', 'ar', 'mobile', 'DE', '/r1', now() - interval '${daysAgo} days'),
       ('shop.events', 8, 2, 'r', 'r-2', 'page_view', '2025-06-03 11:01:00+00', 1, 'r', 'ar', 'mobile', 'DE', '/r2', now() - interval '${daysAgo} days')`;

/** Landed today: producer re-sends of e-5 and q-0 (archived on day 10) and one new event. */
const RESENDS = `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, schema_version,
    session_id, anonymous_id, device, country_code, page_url)
values ('shop.events', 2, 9000, 's1', 'e-5', 'page_view', '2025-06-01 00:35:00.123456+00', 1, 's1', 'a1', 'mobile', 'DE', '/again'),
       ('shop.events', 7, 2, 'q', 'q-0', 'page_view', '2025-06-03 10:00:00+00', 1, 'q', 'aq', 'mobile', 'DE', '/q0'),
       ('shop.events', 2, 9001, 'n', 'n-1', 'page_view', now(), 1, 'n', 'an', 'mobile', 'DE', '/new')`;

/** Raw, leaving out the re-sends landed after the archive (RESENDS). */
const RAW_DIGEST = `select count(*)::int as n, md5(string_agg(e::text, '|' order by topic, kafka_partition, kafka_offset)) as digest
                    from raw.shop_events as e where not (kafka_offset >= 9000 or (kafka_partition = 7 and kafka_offset = 2))`;
const STAGING_DIGEST = `select count(*)::int as n, md5(string_agg(s::text, '|' order by event_id)) as digest from staging.stg_clickstream__events as s`;
const stagedIds = async (ids: string[]) =>
  (
    await admin.query<{ event_id: string }>(
      `select event_id from staging.stg_clickstream__events where event_id = any($1) order by event_id`,
      [ids],
    )
  ).rows.map((r) => r.event_id);
const count = async (sql: string) => (await admin.query<{ n: number }>(`select count(*)::int as n from ${sql}`)).rows[0]!.n;
const STAGING_MODELS = ['stg_clickstream__event_rejects', 'stg_clickstream__events'];
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
  await admin.query(seedQuietPartitions(10));
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

  it('archives the days older than the retention to verified Parquet files and drops them with their staged rows', async () => {
    await runner.dbt(['run', '--select', ...STAGING_MODELS]);
    rawBefore = (await admin.query(RAW_DIGEST)).rows[0];
    stagingBefore = (await admin.query(STAGING_DIGEST)).rows[0];
    expect(stagingBefore.n).toBe(1264);

    const dry = await archiveRaw(config, { dryRun: true });
    expect(dry.plan.days).toHaveLength(2);
    expect(dry.archived).toEqual([]);
    expect(await partitionOf(10)).toBe(true);

    const { archived } = await archiveRaw(config);
    expect(archived.map((m) => m.rows)).toEqual([425, 420]);
    for (const manifest of archived) {
      expect(manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(existsSync(join(archiveDir, 'raw', 'shop_events', `load_day=${manifest.loadDay}`, 'shop_events.parquet'))).toBe(true);
    }
    expect(await partitionOf(10)).toBe(false);
    expect(await partitionOf(9)).toBe(false);
    expect((await admin.query(RAW_DIGEST)).rows[0].n).toBe(420);

    // Staging keeps today's 420 and, of the archived days, only partition 7's mark (q-1), the
    // corrected copy that resolves r-1's reject, and partition 8's mark (r-2).
    expect(await count('staging.stg_clickstream__events')).toBe(423);
    expect(await stagedIds(['q-0', 'q-1', 'r-1', 'r-2', 'e-5'])).toEqual(['q-1', 'r-1', 'r-2']);
    expect(await count('raw.shop_events_archived_keys')).toBe(844);
    expect(
      (await admin.query(`select staged_events::int, removed_events::int from raw.shop_events_archived_days order by load_day`)).rows,
    ).toEqual([
      { staged_events: 424, removed_events: 421 },
      { staged_events: 420, removed_events: 420 },
    ]);
    // Nothing left to do on a second run.
    expect((await archiveRaw(config)).archived).toEqual([]);
  });

  it('does not admit a re-send of an archived event, incrementally or on a full refresh without the archived days', async () => {
    await admin.query(RESENDS);
    await runner.dbt(['run', '--select', ...STAGING_MODELS]);
    expect(await stagedIds(['e-5', 'q-0', 'n-1'])).toEqual(['n-1']);
    await runner.dbt(['test', '--select', 'stg_clickstream__events,test_type:data']);

    // The data test sees a re-send staged past the keys (here forged into staging).
    await admin.query(
      `insert into staging.stg_clickstream__events (event_id, session_id, event_type, event_at, kafka_topic, kafka_partition, kafka_offset, _loaded_at)
       values ('e-7', 's1', 'page_view', now(), 'shop.events', 2, 8999, now())`,
    );
    await expect(runner.dbt(['test', '--select', 'stg_clickstream__events_no_resend_of_an_archived_event'])).rejects.toThrow();
    await admin.query(`delete from staging.stg_clickstream__events where event_id = 'e-7'`);

    // Rebuilt from what raw holds now (today's load day): the re-sends stay out.
    await runner.dbt(['run', '--full-refresh', '--select', ...STAGING_MODELS]);
    expect(await count('staging.stg_clickstream__events')).toBe(421);
    expect(await stagedIds(['e-5', 'q-0', 'n-1'])).toEqual(['n-1']);
  });

  it('rehydrates them row for row, refuses a second restore, and a full refresh equals the build that never archived', async () => {
    const [from, to] = [10, 9].map((d) => new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10)) as [string, string];
    const restored = await rehydrateRaw(config, from, to);
    expect(restored.map((m) => m.rows)).toEqual([425, 420]);
    expect((await admin.query(RAW_DIGEST)).rows[0]).toEqual(rawBefore);
    await expect(rehydrateRaw(config, from, to)).rejects.toThrow(/would duplicate them/);

    // With the archived keys in place: the rehydrated first copies are staged again (their
    // load day is the archived one), the re-sends are not.
    await runner.dbt(['run', '--full-refresh', '--select', ...STAGING_MODELS]);
    const rebuilt = (await admin.query(STAGING_DIGEST)).rows[0];
    expect(rebuilt.n).toBe(1265);
    const withoutNew = `select count(*)::int as n, md5(string_agg(s::text, '|' order by event_id)) as digest
                        from staging.stg_clickstream__events as s where event_id <> 'n-1'`;
    expect((await admin.query(withoutNew)).rows[0]).toEqual(stagingBefore);

    // The build that never archived: the same raw, no keys (what staging was before retention).
    await admin.query(`create temporary table kept_keys as select * from raw.shop_events_archived_keys`);
    await admin.query(`truncate raw.shop_events_archived_keys`);
    await runner.dbt(['run', '--full-refresh', '--select', ...STAGING_MODELS]);
    expect((await admin.query(STAGING_DIGEST)).rows[0]).toEqual(rebuilt);
    await admin.query(`insert into raw.shop_events_archived_keys select * from kept_keys`);
  });

  it('drops nothing when the rows differ from what the archive read back', async () => {
    const { rows } = await admin.query<{ dropped: boolean }>(
      `select raw.drop_archived_shop_events_partition((now() at time zone 'UTC')::date - 10, 419, 0) as dropped`,
    );
    expect(rows[0]!.dropped).toBe(false);
    expect(await partitionOf(10)).toBe(true);
  });
});
