/**
 * `npm run bench -- dbt [--scale N] [--days N] [--orders-per-day N] [--sessions-per-day N] [--threads N]`
 *
 * Measures the dbt project on a seeded shop landed straight into raw.* in the ingestors'
 * format (tests/dbt/fixtures), in two fresh databases on the configured warehouse server:
 *   1x:  --days of history at the generator's default volume (365 days, ~137 orders and
 *        ~2,600 browsing sessions a day: about 50k orders and 2.5M events);
 *   Nx:  the same daily volume with --scale times the history (default 10); --scale 1 measures
 *        the 1x world only (its full build against another checkout's, say).
 * Rows are stamped as loaded a minute after they happened, as if the history had arrived day
 * by day; the world ends yesterday, so the new day lands at its real date.
 * For each: a full `dbt build` (the baseline), then one new day landed and the scheduler's
 * micro-batch cycle (its exact dbt arguments: build without snapshots, data tests of the
 * event-sized tables on the last day's loads), then the nightly cycle (`dbt build`: snapshots
 * and every test over all rows) on the same data. Targets: full build at 1x under 90 s; the
 * incremental cycle at Nx at most 1.5x the same cycle at 1x.
 *
 * Last line: the DESIGN.md JSON, value = incremental cycle at Nx (s), with the full builds and
 * the 1x cycle as baselines and ratio_to_ceiling = incremental / full build at Nx.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { loadConfig, type Config } from '../lib/config/index.ts';
import { runDbt } from '../lib/dbt/run.ts';
import { DBT_MICROBATCH_ARGS, DBT_NIGHTLY_ARGS } from '../scheduler/jobs/dbt-args.ts';
import { migrate } from '../lib/warehouse/migrate.ts';
import { emptyLoadState, loadWorld, type LoadState } from '../tests/dbt/fixtures/load.ts';
import { FixtureWorld } from '../tests/dbt/fixtures/world.ts';
import { printBenchResult, round, timed } from './lib/result.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '10' },
    days: { type: 'string', default: '365' },
    'orders-per-day': { type: 'string', default: '137' },
    'sessions-per-day': { type: 'string', default: '2600' },
    customers: { type: 'string', default: '10000' },
    threads: { type: 'string', default: '4' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout
    .write(`usage: npm run bench -- dbt [--scale N] [--days N] [--orders-per-day N] [--sessions-per-day N] [--customers N] [--threads N] [--keep]

Creates databases bench_dbt_1x and bench_dbt_<N>x on the WAREHOUSE_URL server (dropped
afterwards unless --keep), lands a seeded shop, and times dbt build (full, then incremental
after one more day). --scale 1: the 1x world only. Environment: WAREHOUSE_URL, WAREHOUSE_*_PASSWORD, PYTHON_VENV.
`);
  process.exit(0);
}
const positive = (name: string, text: string | undefined) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a whole number >= 1, got ${text}\n`);
    process.exit(2);
  }
  return n;
};
const scale = positive('scale', values.scale);
const days = positive('days', values.days);
const ordersPerDay = positive('orders-per-day', values['orders-per-day']);
const sessionsPerDay = positive('sessions-per-day', values['sessions-per-day']);
const customers = positive('customers', values.customers);
const threads = positive('threads', values.threads);

const DAY_MS = 86_400_000;
const config = loadConfig();
const log = (message: string) => process.stderr.write(`[bench dbt] ${message}\n`);

function databaseUrl(database: string): string {
  const url = new URL(config.WAREHOUSE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres'), application_name: 'shopflow-bench-dbt' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface ScaleResult {
  fullBuildSeconds: number;
  incrementalSeconds: number;
  nightlySeconds: number;
  orders: number;
  changes: number;
  events: number;
}

async function measure(factor: number): Promise<ScaleResult> {
  const database = `bench_dbt_${factor}x`;
  await admin(`drop database if exists ${database} with (force)`);
  const benchConfig: Config = { ...config, WAREHOUSE_URL: databaseUrl(database) };
  await migrate(benchConfig);
  const historyDays = days * factor;
  // The world ends yesterday (UTC), so the new day's rows are the newest ones in time too.
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const startMs = today - (historyDays + 1) * DAY_MS;
  const world = new FixtureWorld({
    seed: 42,
    start: new Date(startMs).toISOString().slice(0, 10),
    days: historyDays + 1,
    customers: customers * factor,
    products: 500,
    ordersPerDay,
    browsingSessionsPerDay: sessionsPerDay,
  }).seed();
  // Land the history in slices so the world never holds it all in memory.
  let state: LoadState = emptyLoadState();
  let changes = 0;
  let events = 0;
  const landed = async () => {
    changes += world.changes.length - state.changes;
    events += world.events.length - state.events;
    state = await loadWorld(benchConfig.WAREHOUSE_URL, world, state, { loadDelayMs: 60_000 });
    world.changes.length = 0;
    world.events.length = 0;
    state = { changes: 0, events: 0, offsets: state.offsets };
  };
  for (let done = 0; done < historyDays; done += 30) {
    world.advance(Math.min(30, historyDays - done));
    await landed();
    log(
      `${factor}x: landed ${world.daysGenerated}/${historyDays} days (${changes.toLocaleString('en')} changes, ${events.toLocaleString('en')} events)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), `shopflow-bench-dbt-${factor}x-`));
  const dbt = (args: string[]) =>
    runDbt(benchConfig, args, { targetPath: join(dir, 'target'), logPath: join(dir, 'logs'), threads, timeoutMs: 60 * 60_000 });
  try {
    // Parse once outside the timings: both cycles then start from the same warm manifest.
    await dbt(['parse']);
    const full = await timed(() => dbt(['build']));
    log(`${factor}x: full build ${round(full.seconds, 1)} s`);
    world.advance(1);
    await landed();
    const incremental = await timed(() => dbt([...DBT_MICROBATCH_ARGS]));
    log(`${factor}x: incremental cycle (+1 day, micro-batch) ${round(incremental.seconds, 1)} s`);
    const nightly = await timed(() => dbt([...DBT_NIGHTLY_ARGS]));
    log(`${factor}x: nightly cycle (snapshots, every test on every row) ${round(nightly.seconds, 1)} s`);
    const orders = Number(
      (await (async () => {
        const client = new pg.Client({ connectionString: benchConfig.WAREHOUSE_URL });
        client.on('error', () => undefined);
        await client.connect();
        try {
          return (await client.query<{ n: string }>('select count(*) as n from marts.fct_orders')).rows[0]?.n;
        } finally {
          await client.end();
        }
      })()) ?? 0,
    );
    return {
      fullBuildSeconds: full.seconds,
      incrementalSeconds: incremental.seconds,
      nightlySeconds: nightly.seconds,
      orders,
      changes,
      events,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!values.keep) await admin(`drop database if exists ${database} with (force)`);
  }
}

const one = await measure(1);
const many = scale === 1 ? one : await measure(scale);
const ratio = many.incrementalSeconds / one.incrementalSeconds;
printBenchResult({
  bench: 'dbt',
  metric: `incremental dbt build (+1 day) at ${scale}x history`,
  unit: 's',
  value: round(many.incrementalSeconds, 2),
  baselines: {
    [`full_build_${scale}x_s`]: round(many.fullBuildSeconds, 2),
    full_build_1x_s: round(one.fullBuildSeconds, 2),
    incremental_1x_s: round(one.incrementalSeconds, 2),
  },
  ratio_to_ceiling: round(many.incrementalSeconds / many.fullBuildSeconds, 3),
  extra: {
    [`incremental_${scale}x_over_1x`]: round(ratio, 3),
    incremental_target_met: ratio <= 1.5,
    nightly_1x_s: round(one.nightlySeconds, 2),
    [`nightly_${scale}x_s`]: round(many.nightlySeconds, 2),
    full_build_1x_under_90s: one.fullBuildSeconds < 90,
    orders_1x: one.orders,
    [`orders_${scale}x`]: many.orders,
    changes_1x: one.changes,
    [`changes_${scale}x`]: many.changes,
    events_1x: one.events,
    [`events_${scale}x`]: many.events,
    threads,
    sessions_per_day: sessionsPerDay,
  },
});
