/**
 * The gate's volume check (great_expectations/gate/volume.py) on synthetic year-long histories,
 * run the way the gate runs it: the exact SQL the suites use, against Postgres, once per
 * morning with the data known by then. The old check (0.3x-3x of the previous 7 days, empty
 * days left out, no floor) withheld a three-orders-a-day shop's report on about a third of
 * ordinary days. Pinned here: no withheld report on ordinary days of a small shop with empty
 * days, nor of a spiky, seasonal one; and still a failure when volume really collapses.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addDays } from '../../report/format.ts';
import { gateSql } from '../helpers/gate-sql.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';

let warehouse: TestWarehouse;
let client: pg.Client;
let volumeSql: string;

const START = '1997-01-01';
const DAYS = 365;

/** Seeded PRNG (mulberry32): the histories are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson count (Knuth for small means, a rounded normal for large ones). */
function poisson(mean: number, rand: () => number): number {
  if (mean <= 0) return 0;
  if (mean > 50) {
    const normal = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k += 1;
    p *= rand();
  }
  return k;
}

const weekday = (day: string) => new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday

/** Rows per day; `mean(day, index)` is the expected count. */
function history(seed: number, mean: (day: string, index: number) => number): Map<string, number> {
  const rand = random(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < DAYS; i += 1) {
    const day = addDays(START, i);
    counts.set(day, poisson(mean(day, i), rand));
  }
  return counts;
}

async function load(table: string, counts: Map<string, number>): Promise<void> {
  await client.query(`create table ${table} (day date not null)`);
  await client.query(`insert into ${table} select day from unnest($1::date[], $2::int[]) as history (day, n), generate_series(1, n)`, [
    [...counts.keys()],
    [...counts.values()],
  ]);
}

/** The gate's verdict each morning from `fromIndex` on: the windows that failed, by morning. */
async function failingMornings(table: string, fromIndex: number, toIndex = DAYS - 1): Promise<Map<string, string[]>> {
  const failures = new Map<string, string[]>();
  for (let i = fromIndex; i <= toIndex; i += 1) {
    const morning = addDays(START, i);
    // What the gate sees that morning: every row up to and including that (partial) day.
    const relation = `(select day from ${table} where day <= '${morning}') as known`;
    const { rows } = await client.query<{ window_checked: string }>(volumeSql.replace('{batch}', relation));
    if (rows.length > 0)
      failures.set(
        morning,
        rows.map((r) => r.window_checked),
      );
  }
  return failures;
}

beforeAll(async () => {
  warehouse = await createTestWarehouse('gate-volume');
  client = new pg.Client({ connectionString: warehouse.adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  // The suites' own SQL, as GX receives it (day expression `day`, relation `{batch}`).
  volumeSql = gateSql(warehouse.config, 'volume', 'volume_query', "volume_query('day', '{batch}')");
  expect(volumeSql).toContain('{batch}');
});
afterAll(async () => {
  await client?.end();
  await warehouse?.drop();
});

describe('volume check on small and seasonal shops', () => {
  it('never withholds a small shop (about 3 orders a day, closed on Sundays, many empty days)', async () => {
    const counts = history(7, (day) => (weekday(day) === 0 ? 0 : [0, 2.5, 2.5, 3, 3, 3.5, 4][weekday(day)]!));
    const emptyDays = [...counts.values()].filter((n) => n === 0).length;
    expect(emptyDays).toBeGreaterThan(60); // Sundays plus chance: the empty days are really there
    await load('small_shop', counts);
    expect([...(await failingMornings('small_shop', 30))]).toEqual([]);
  });

  it('never withholds a spiky, seasonal shop on ordinary days (weekends x2, a yearly swing, a December rush, sale days x4)', async () => {
    const rand = random(11);
    const saleDays = new Set(Array.from({ length: 12 }, () => Math.floor(30 + rand() * (DAYS - 40))));
    const counts = history(13, (day, i) => {
      const week = [1.8, 0.6, 0.8, 0.9, 1, 1.2, 2][weekday(day)]!;
      const season = 1 + 0.5 * Math.sin((2 * Math.PI * i) / DAYS);
      const rush = i >= 320 && i <= 357 ? 1 + (1.5 * (i - 320)) / 37 : 1;
      return 40 * week * season * rush * (saleDays.has(i) ? 4 : 1);
    });
    await load('seasonal_shop', counts);
    expect([...(await failingMornings('seasonal_shop', 30))]).toEqual([]);
  });

  it('fails when a busy day collapses to a twentieth of its weekday', async () => {
    const counts = history(17, (day) => [30, 40, 40, 40, 45, 50, 60][weekday(day)]!);
    const collapsed = addDays(START, 200);
    counts.set(collapsed, Math.round(counts.get(collapsed)! / 20));
    await load('collapsing_shop', counts);
    const failures = await failingMornings('collapsing_shop', 190, 210);
    // The morning after, the collapsed day is the last complete day.
    expect(failures).toEqual(new Map([[addDays(collapsed, 1), ['day']]]));
  });

  it('fails when a small shop gets no orders for a week, though no single empty day would', async () => {
    const counts = history(19, (day) => (weekday(day) === 0 ? 0 : 3));
    for (let i = 200; i < 207; i += 1) counts.set(addDays(START, i), 0);
    counts.set(addDays(START, 207), Math.max(1, counts.get(addDays(START, 207))!));
    await load('silent_week_shop', counts);
    const failures = await failingMornings('silent_week_shop', 190, 215);
    // The first morning with a complete empty week behind it fails on the 7-day window.
    expect(failures.get(addDays(START, 207))).toEqual(['7 days']);
    for (const morning of failures.keys()) expect(morning >= addDays(START, 207)).toBe(true);
  });
});
