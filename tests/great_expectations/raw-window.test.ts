/**
 * The raw gate reads only what landed since it last passed. At 10x its clickstream checks read
 * all 24M events on every run (136 s of a 154 s gate); now the row-by-row checks read the
 * load-day partitions new since the last passed raw gate, the volume check a daily summary, and
 * a nightly full pass reads everything. Pinned here, with the real GX checkpoint:
 * - a bad row in the new range still fails the gate, and no row of the old partition is read
 *   (Postgres' own per-partition scan counters: no sequential scan, no row fetched; its index
 *   is only probed for rows past the volume summary's counted Kafka positions);
 * - a bad row in old data is found by the full pass, after which every run is full until one
 *   passes;
 * - the volume summary holds the same daily counts as the events, after the full pass and after
 *   incremental runs (each event counted once: a refresh with nothing new adds nothing).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Config } from '../../lib/config/index.ts';
import { runGate } from '../../great_expectations/run.ts';
import type { GateSummary } from '../../great_expectations/summary.ts';
import { decideWindow } from '../../great_expectations/window.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';

let warehouse: TestWarehouse;
let admin: pg.Client;
let config: Config;
let oldPartition: string;
const outDir = mkdtempSync(join(tmpdir(), 'shopflow-gate-window-'));

/** `count` clean events (one each 12 minutes from event `first` on), loaded at `loadedAt` (SQL expression). */
const events = (first: number, count: number, loadedAt: string) => `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload, _loaded_at)
select 'shop.events', g % 3, g, 's' || (g / 6), 'e-' || g,
       (array['page_view', 'product_view', 'add_to_cart', 'checkout_started', 'order_placed'])[1 + g % 5],
       timestamptz '2025-06-01 00:00:00+00' + g * interval '12 minutes',
       jsonb_build_object('session_id', 's' || (g / 6), 'price', 19.99, 'quantity', 1 + g % 3),
       ${loadedAt}
from generate_series(${first}, ${first + count - 1}) as g`;

const BAD_EVENT = (id: string, loadedAt: string) => `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload, _loaded_at)
values ('shop.events', 9, 1, 'x', '${id}', 'teleport', '2025-06-19', '{"price": -5, "quantity": 1}', ${loadedAt})`;

interface ScanCounters {
  seqScans: number;
  tuplesRead: number;
  indexScans: number;
  indexRowsFetched: number;
}

/** Postgres' cumulative scan counters of one partition (flushed by the GX sessions as they end). */
async function scans(table: string): Promise<ScanCounters> {
  await admin.query('select pg_stat_clear_snapshot()');
  const { rows } = await admin.query<{ seq_scan: string; seq_tup_read: string; idx_scan: string | null; idx_tup_fetch: string | null }>(
    `select seq_scan, seq_tup_read, idx_scan, idx_tup_fetch from pg_stat_user_tables where schemaname = 'raw' and relname = $1`,
    [table],
  );
  const row = rows[0]!;
  return {
    seqScans: Number(row.seq_scan),
    tuplesRead: Number(row.seq_tup_read),
    indexScans: Number(row.idx_scan ?? 0),
    indexRowsFetched: Number(row.idx_tup_fetch ?? 0),
  };
}

/** Event days whose count in the volume summary differs from raw's (load day and event day). */
async function volumeMismatches(): Promise<number> {
  const { rows } = await admin.query<{ mismatches: number }>(`
    select count(*)::int as mismatches
    from (select (_loaded_at at time zone 'UTC')::date as load_day, (event_time at time zone 'UTC')::date as event_day, count(*) as n
          from raw.shop_events group by 1, 2) as counted
    full join ops.shop_events_daily_volume as summary using (load_day, event_day)
    where counted.n is distinct from summary.events`);
  return rows[0]!.mismatches;
}

const failureNames = (summary: GateSummary) => summary.failures.map((f) => f.expectation).sort();
const gate = (scope: 'incremental' | 'full') => runGate(config, 'raw', { outDir, scope });

beforeAll(async () => {
  warehouse = await createTestWarehouse('gate-window');
  config = { ...warehouse.config, GATE_SOURCES: ['clickstream'] };
  admin = new pg.Client({ connectionString: warehouse.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  // 20 days of clickstream landed 3 days ago, in that day's partition, and 2.5 days landed now.
  const { rows } = await admin.query<{ day: string }>(`select to_char(current_date - 3, 'YYYYMMDD') as day`);
  oldPartition = `shop_events_${rows[0]!.day}`;
  await admin.query(`select raw.create_shop_events_partition(current_date - 3)`);
  await admin.query(events(0, 2400, `now() - interval '3 days'`));
  await admin.query(events(2400, 300, 'now()'));
  await admin.query(`vacuum analyze raw.shop_events`);
});
afterAll(async () => {
  await admin?.end();
  await warehouse?.drop();
});

// Each gate run is a Python process importing GX (tens of seconds on a loaded machine).
describe('raw gate window', { timeout: 900_000 }, () => {
  let firstPass: GateSummary;

  it('runs full when no raw gate has passed yet, and its volume summary counts every event', async () => {
    firstPass = await gate('incremental');
    expect(firstPass.failures).toEqual([]);
    expect(firstPass.window).toMatchObject({ scope: 'full', loadedFrom: null, reason: 'no passed raw gate to start from' });
    expect(await volumeMismatches()).toBe(0);
    const days = await admin.query(`select count(distinct event_day)::int as n from ops.shop_events_daily_volume`);
    expect(days.rows[0].n).toBeGreaterThanOrEqual(20);
  });

  it('fails on a bad row loaded since, without reading the old partition', async () => {
    await admin.query(events(2700, 300, 'now()'));
    await admin.query(BAD_EVENT('bad-new', 'now()'));
    const before = await scans(oldPartition);
    const todayPartition = (await admin.query<{ t: string }>(`select 'shop_events_' || to_char(now() at time zone 'UTC', 'YYYYMMDD') as t`))
      .rows[0]!.t;
    const todayBefore = await scans(todayPartition);

    const summary = await gate('incremental');
    expect(summary.success).toBe(false);
    expect(failureNames(summary)).toEqual([
      'ranges: prices and totals >= 0, quantities 1-1000',
      "values: event_type is one of the clickstream contract's types",
    ]);
    expect(summary.failures.find((f) => f.expectation.startsWith('ranges'))!.details).toContain('bad-new');
    expect(summary.window).toMatchObject({
      scope: 'incremental',
      loadedFrom: firstPass.window!.settledBefore,
    });
    // The new partition was read (the counters work), no row of the old one.
    expect((await scans(todayPartition)).seqScans).toBeGreaterThan(todayBefore.seqScans);
    const after = await scans(oldPartition);
    expect({ seqScans: after.seqScans, tuplesRead: after.tuplesRead, indexRowsFetched: after.indexRowsFetched }).toEqual({
      seqScans: before.seqScans,
      tuplesRead: before.tuplesRead,
      indexRowsFetched: before.indexRowsFetched,
    });
    // The volume summary counted the new events once, by position, and nothing twice.
    expect(await volumeMismatches()).toBe(0);
    // A refresh with nothing new reads no row, even of today's partition (a day recount would).
    const todayCounted = await scans(todayPartition);
    // In a session of its own: a session's scan counters are published when it ends.
    const refresher = new pg.Client({ connectionString: warehouse.adminUrl });
    await refresher.connect();
    const again = await refresher.query<{ written: string }>(`select ops.refresh_shop_events_volume(now()) as written`);
    await refresher.end();
    expect(Number(again.rows[0]!.written)).toBe(0);
    const todayAgain = await scans(todayPartition);
    expect([todayAgain.seqScans, todayAgain.indexRowsFetched]).toEqual([todayCounted.seqScans, todayCounted.indexRowsFetched]);
    expect(await volumeMismatches()).toBe(0);
  });

  it('leaves old rows to the full pass, which finds a bad one; every run is full until one passes', async () => {
    await admin.query(`delete from raw.shop_events where event_id = 'bad-new'`);
    await admin.query(BAD_EVENT('bad-old', `now() - interval '3 days'`));

    const incremental = await gate('incremental');
    expect(incremental.failures).toEqual([]);
    expect(incremental.window?.scope).toBe('incremental');

    const full = await gate('full');
    expect(full.success).toBe(false);
    expect(full.window).toMatchObject({ scope: 'full', loadedFrom: null });
    expect(full.failures.find((f) => f.expectation.startsWith('ranges'))!.details).toContain('bad-old');

    const after = await gate('incremental');
    expect(after.window).toMatchObject({ scope: 'full', reason: 'the last full pass failed' });
    expect(after.success).toBe(false);
  });
});

describe('decideWindow', () => {
  const now = new Date('2026-01-02T08:00:00Z');
  const settledBefore = new Date('2026-01-02T07:59:30Z');
  const lastPassedSettledBefore = new Date('2026-01-02T02:00:00Z');
  it('starts an incremental run where the last passed run had seen every row, and runs full otherwise', () => {
    expect(decideWindow('incremental', { now, settledBefore, lastPassedSettledBefore, lastFullFailed: false })).toMatchObject({
      scope: 'incremental',
      loadedFrom: lastPassedSettledBefore.toISOString(),
      loadedUpTo: now.toISOString(),
      settledBefore: settledBefore.toISOString(),
    });
    expect(decideWindow('incremental', { now, settledBefore, lastPassedSettledBefore: null, lastFullFailed: false }).scope).toBe('full');
    expect(decideWindow('incremental', { now, settledBefore, lastPassedSettledBefore, lastFullFailed: true }).scope).toBe('full');
    const full = decideWindow('full', { now, settledBefore, lastPassedSettledBefore, lastFullFailed: false });
    expect(full).toMatchObject({ loadedFrom: null, settledBefore: settledBefore.toISOString() });
  });
});
