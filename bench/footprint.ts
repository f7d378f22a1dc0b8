/**
 * `npm run bench -- footprint [--days N] [--customers N] [--orders-per-day N] [--sessions-per-day N] [--threads N] [--retention-days N] [--keep] [--measure-only]`
 *
 * Where the warehouse's bytes are, per million events (issue #29's disk budget). Builds the
 * 1x world of `bench scale` (the seeded shop of tests/dbt/fixtures, landed as a backfill) in a
 * fresh database `bench_footprint` on the configured warehouse server, then operates it as the
 * scheduler would: `dbt build`, one more day landed, the micro-batch, both gates, the report's
 * gate reuse. Index usage counters are reset after the full build, so `scans` is what that
 * operation read through each index (a full build reads its own way; a rebuild of an index
 * nobody scans in operation is the cost, not the use).
 *
 * Prints one JSON line per relation (table, TOAST and index bytes; partitions summed into their
 * parent), one per layer (raw, staging, intermediate, marts, snapshots, the rest), one per index
 * with its scans, the dbt build's slowest nodes, and last the DESIGN.md line: value = the whole
 * database in MB per million events; baselines = the same for raw alone and for the rest.
 *
 * --retention-days N  the world after daily operation with RAW_RETENTION_DAYS=N: every event is
 *                  stamped as loaded a minute after it happened, into its own load day's
 *                  partition (as the Kafka ingestor would have landed it day by day), the world
 *                  is operated as above and measured (without retention), then the archive step
 *                  runs (raw days older than N days to Parquet, their staged rows removed, the
 *                  nightly job's `archive_raw`) and the database is measured again (with
 *                  retention), and once more after `VACUUM FULL` of the tables the archive
 *                  deleted from (compacted: what daily operation holds, whose deletes and loads
 *                  balance, against what the first archive of a long history leaves behind).
 *                  Per million events is per event ever landed, archived ones included.
 * --measure-only   measure the kept `bench_footprint` database again (after an ALTER, a new
 *                  migration or a rebuild), without building a world.
 * --keep           leave the database for inspection or a later --measure-only.
 * A 1x world is ~2.4M events and a few minutes; it takes ~2.5 GB while it exists.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { loadConfig, type Config } from '../lib/config/index.ts';
import { runDbt } from '../lib/dbt/run.ts';
import { ProcessFailedError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { archiveRaw } from '../lib/warehouse/archive/index.ts';
import { migrate } from '../lib/warehouse/migrate.ts';
import { reuseOrRunGate, runGate } from '../great_expectations/run.ts';
import { microbatchBuild, type DbtBuild } from '../scheduler/jobs/dbt-args.ts';
import { stepStartNow } from './lib/step-start.ts';
import { emptyLoadState, loadWorld, type LoadState } from '../tests/dbt/fixtures/load.ts';
import { FixtureWorld } from '../tests/dbt/fixtures/world.ts';
import { printBenchResult, round, timed } from './lib/result.ts';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '365' },
    'orders-per-day': { type: 'string', default: '137' },
    'sessions-per-day': { type: 'string', default: '2600' },
    customers: { type: 'string', default: '10000' },
    threads: { type: 'string', default: '2' },
    'retention-days': { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
    'measure-only': { type: 'boolean', default: false },
  },
});
const positive = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1, got ${text}`);
  return n;
};
const days = positive('days', values.days);
const ordersPerDay = positive('orders-per-day', values['orders-per-day']);
const sessionsPerDay = positive('sessions-per-day', values['sessions-per-day']);
const customers = positive('customers', values.customers);
const threads = positive('threads', values.threads);
const retentionDays = values['retention-days'] === '0' ? 0 : positive('retention-days', values['retention-days']);

const DATABASE = 'bench_footprint';
const DAY_MS = 86_400_000;
const MB = 1024 * 1024;
const source = loadConfig();
const logger = createLogger('bench-footprint', source.LOG_LEVEL === 'info' ? 'warn' : source.LOG_LEVEL);
const log = (message: string) => process.stderr.write(`[bench footprint] ${message}\n`);

function databaseUrl(database: string): string {
  const url = new URL(source.WAREHOUSE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-bench-footprint' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const config: Config = loadConfig({
  WAREHOUSE_URL: databaseUrl(DATABASE),
  SCHEDULER_INGESTORS: 'none',
  LOG_LEVEL: 'warn',
  REPORT_TO: `bench+${DATABASE}@shopflow.local`,
});

/** The slowest nodes of a dbt invocation, from its run_results.json. */
function slowestNodes(targetPath: string, count: number): { node: string; seconds: number }[] {
  const results = JSON.parse(readFileSync(join(targetPath, 'run_results.json'), 'utf8')) as {
    results: { unique_id: string; execution_time: number }[];
  };
  return results.results
    .map((r) => {
      // model.shopflow.NAME, test.shopflow.NAME.HASH: the name without the package.
      const node = r.unique_id.split('.')[2] ?? r.unique_id;
      return { node, seconds: round(r.execution_time, 2) };
    })
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, count);
}

/**
 * WAL (server-wide: run the bench on a warehouse server nothing else writes to) and temporary
 * files (this database) a step wrote: the transient disk a load or a build needs on top of the
 * tables it leaves.
 */
async function transientBytes<T>(step: string, operation: () => Promise<T>): Promise<T> {
  const sql = `select (select wal_bytes from pg_stat_wal)::text as wal,
                      (select temp_bytes from pg_stat_database where datname = current_database())::text as temp`;
  const [before] = await query<{ wal: string; temp: string }>(config.WAREHOUSE_URL, sql);
  const { seconds, result } = await timed(operation);
  const [after] = await query<{ wal: string; temp: string }>(config.WAREHOUSE_URL, sql);
  const mb = (key: 'wal' | 'temp') => round((Number(after?.[key] ?? 0) - Number(before?.[key] ?? 0)) / MB, 1);
  process.stdout.write(
    `${JSON.stringify({ bench: 'footprint', step, seconds: round(seconds, 1), wal_mb: mb('wal'), temp_mb: mb('temp') })}\n`,
  );
  return result;
}

async function buildWorld(): Promise<void> {
  await query(databaseUrl('postgres'), `drop database if exists ${DATABASE} with (force)`);
  await migrate(config);
  // The history ends two days ago, as in bench scale: the day landed after it is yesterday.
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const start = new Date(today - days * DAY_MS - 2 * DAY_MS).toISOString().slice(0, 10);
  const world = new FixtureWorld({
    seed: 29,
    start,
    days: days + 2,
    customers,
    products: 500,
    ordersPerDay,
    browsingSessionsPerDay: sessionsPerDay,
  }).seed();
  if (retentionDays > 0) {
    // One partition per load day, as the Kafka ingestor creates them day by day.
    await query(
      config.WAREHOUSE_URL,
      `select raw.create_shop_events_partition(day::date)
       from generate_series(date '${start}', (now() at time zone 'UTC')::date + 1, interval '1 day') as day`,
    );
  }
  // With retention: every row loaded a minute after it happened (its own load day), as the
  // ingestors would have landed it day by day, not all now.
  const stamped = retentionDays > 0 ? { loadDelayMs: 60_000 } : {};
  let state: LoadState = emptyLoadState();
  const land = async () => {
    const landed = await loadWorld(config.WAREHOUSE_URL, world, state, stamped);
    world.changes.length = 0;
    world.events.length = 0;
    state = { changes: 0, events: 0, offsets: landed.offsets };
  };
  const ingestion = await timed(() =>
    transientBytes('backfill', async () => {
      for (let done = 0; done < days; done += 30) {
        world.advance(Math.min(30, days - done));
        await land();
      }
    }),
  );
  log(`backfilled ${days} days in ${round(ingestion.seconds, 1)} s`);
  const dir = mkdtempSync(join(tmpdir(), 'shopflow-bench-footprint-'));
  const targetPath = join(dir, 'target');
  const dbt = async ({ args, testLoadedSince }: DbtBuild) => {
    try {
      return await runDbt(config, args, {
        ...(testLoadedSince ? { testLoadedSince } : {}),
        targetPath,
        logPath: join(dir, 'logs'),
        threads,
        timeoutMs: 2 * 60 * 60_000,
      });
    } catch (error) {
      if (error instanceof ProcessFailedError) log(`dbt ${args.join(' ')} failed:\n${error.outputTail}`);
      throw error;
    }
  };
  try {
    const fullStart = await stepStartNow(config.WAREHOUSE_URL);
    const build = await timed(() => transientBytes('full_build', () => dbt({ args: ['build'] })));
    log(`full build ${round(build.seconds, 1)} s`);
    for (const node of slowestNodes(targetPath, 12)) {
      process.stdout.write(`${JSON.stringify({ bench: 'footprint', step: 'full_build', ...node })}\n`);
    }
    // What operation reads from here on: counters start at zero after the full build.
    await query(config.WAREHOUSE_URL, 'select pg_stat_reset()');
    world.advance(1);
    await land();
    const micro = await timed(() => transientBytes('microbatch', () => dbt(microbatchBuild(fullStart))));
    log(`micro-batch ${round(micro.seconds, 1)} s`);
    for (const node of slowestNodes(targetPath, 8)) {
      process.stdout.write(`${JSON.stringify({ bench: 'footprint', step: 'microbatch', ...node })}\n`);
    }
    for (const gate of ['raw', 'marts'] as const) {
      const summary = await runGate(config, gate, { logger });
      log(`gate ${gate} ${summary.success ? 'passed' : 'FAILED'}`);
      await reuseOrRunGate(config, gate, { logger });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface RelationRow {
  schema: string;
  relation: string;
  table_bytes: string;
  toast_bytes: string;
  index_bytes: string;
}

interface IndexRow {
  schema: string;
  relation: string;
  index: string;
  definition: string;
  bytes: string;
  scans: string;
}

/**
 * Every table (partitions summed into their root): heap with its free space and visibility maps,
 * TOAST (table and its index), and the indexes. Views take no space.
 */
const RELATIONS_SQL = `
with roots as (
    select c.oid, c.relkind, n.nspname as schema, c.relname as relation
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'm') and not c.relispartition
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
),
members as (
    select roots.schema, roots.relation, roots.oid as relid from roots where roots.relkind <> 'p'
    union all
    select roots.schema, roots.relation, tree.relid
    from roots cross join lateral pg_partition_tree(roots.oid) as tree
    where roots.relkind = 'p' and tree.isleaf
)
select members.schema, members.relation,
       sum(pg_relation_size(members.relid, 'main') + pg_relation_size(members.relid, 'fsm')
           + pg_relation_size(members.relid, 'vm'))::text as table_bytes,
       sum(coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0))::text as toast_bytes,
       sum(pg_indexes_size(members.relid))::text as index_bytes
from members join pg_class c on c.oid = members.relid
group by 1, 2
order by sum(pg_total_relation_size(members.relid)) desc`;

/** Every index, partitions' local indexes summed into their parent index, with scans since the reset. */
const INDEXES_SQL = `
with parents as (
    select i.indexrelid, coalesce(pg_partition_root(i.indexrelid), i.indexrelid) as root
    from pg_index i
)
select n.nspname as schema, t.relname as relation, root_index.relname as index,
       pg_get_indexdef(parents.root) as definition,
       sum(pg_relation_size(parents.indexrelid))::text as bytes,
       sum(coalesce(s.idx_scan, 0))::text as scans
from parents
join pg_class root_index on root_index.oid = parents.root
join pg_index root_def on root_def.indexrelid = parents.root
join pg_class t on t.oid = root_def.indrelid
join pg_namespace n on n.oid = t.relnamespace
left join pg_stat_user_indexes s on s.indexrelid = parents.indexrelid
where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
group by 1, 2, 3, 4
order by sum(pg_relation_size(parents.indexrelid)) desc`;

function layerOf(schema: string): string {
  if (schema === 'raw' || schema === 'raw_shop') return 'raw';
  if (['staging', 'intermediate', 'marts', 'snapshots'].includes(schema)) return schema;
  return 'other';
}

interface Measured {
  databaseBytes: number;
  layers: Map<string, number>;
  rawBytes: number;
  restBytes: number;
  relations: Map<string, number>;
}

/**
 * Prints the relation, index and layer lines of the database as it is now, per million of
 * `events` (every event landed, archived ones included), each tagged with `phase`.
 */
async function measure(phase: string, events: number): Promise<Measured> {
  const perMillion = (bytes: number) => round(bytes / MB / (events / 1e6), 1);
  const [counts] = await query<{ database_bytes: string }>(
    config.WAREHOUSE_URL,
    'select pg_database_size(current_database())::text as database_bytes',
  );
  const layers = new Map<string, { table: number; toast: number; index: number }>();
  const relations = new Map<string, number>();
  for (const row of await query<RelationRow>(config.WAREHOUSE_URL, RELATIONS_SQL)) {
    const table = Number(row.table_bytes);
    const toast = Number(row.toast_bytes);
    const index = Number(row.index_bytes);
    const layer = layerOf(row.schema);
    const sum = layers.get(layer) ?? { table: 0, toast: 0, index: 0 };
    layers.set(layer, { table: sum.table + table, toast: sum.toast + toast, index: sum.index + index });
    relations.set(`${row.schema}.${row.relation}`, table + toast + index);
    if (table + toast + index < MB) continue;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'footprint',
        phase,
        relation: `${row.schema}.${row.relation}`,
        table_mb: round(table / MB, 1),
        toast_mb: round(toast / MB, 1),
        index_mb: round(index / MB, 1),
        mb_per_million_events: perMillion(table + toast + index),
      })}\n`,
    );
  }
  for (const row of await query<IndexRow>(config.WAREHOUSE_URL, INDEXES_SQL)) {
    if (Number(row.bytes) < MB) continue;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'footprint',
        phase,
        index: `${row.schema}.${row.index}`,
        on: row.relation,
        // dbt names its indexes by a hash: the columns say which one it is.
        columns: /USING \w+ \((.*?)\)/.exec(row.definition)?.[1] ?? row.definition,
        mb: round(Number(row.bytes) / MB, 1),
        scans_in_operation: Number(row.scans),
      })}\n`,
    );
  }
  let total = 0;
  const layerBytes = new Map<string, number>();
  for (const [layer, sum] of [...layers].sort()) {
    const bytes = sum.table + sum.toast + sum.index;
    total += bytes;
    layerBytes.set(layer, bytes);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'footprint',
        phase,
        layer,
        table_mb: round(sum.table / MB, 1),
        toast_mb: round(sum.toast / MB, 1),
        index_mb: round(sum.index / MB, 1),
        mb_per_million_events: perMillion(bytes),
      })}\n`,
    );
  }
  const rawBytes = layerBytes.get('raw') ?? 0;
  return { databaseBytes: Number(counts?.database_bytes ?? 0), layers: layerBytes, rawBytes, restBytes: total - rawBytes, relations };
}

/** Bytes of the files under a folder (the Parquet archive). */
function folderBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  return bytes;
}

/**
 * The table the archive step deletes from, rewritten without its free space (the key table is
 * only inserted into: it is measured as daily inserts leave it).
 */
const STAGED = 'staging.stg_clickstream__events';
const COMPACTED = [STAGED];

if (!values['measure-only']) {
  const built = await timed(buildWorld);
  log(`world built and operated in ${round(built.seconds, 1)} s`);
}
const archiveDir = mkdtempSync(join(tmpdir(), 'shopflow-bench-footprint-archive-'));
try {
  const [counts] = await query<{ events: string }>(config.WAREHOUSE_URL, 'select count(*)::text as events from raw.shop_events');
  const events = Number(counts?.events ?? 0);
  if (events === 0) throw new Error(`${DATABASE} holds no events: build it first (run without --measure-only)`);
  const perMillion = (bytes: number) => round(bytes / MB / (events / 1e6), 1);
  const projected10x = (bytes: number) => round(((bytes / events) * 24.4e6) / 1024 ** 3, 2);
  const without = await measure(retentionDays > 0 ? 'without_retention' : 'operated', events);
  const extra = { events, days, sessions_per_day: sessionsPerDay };
  if (retentionDays === 0) {
    printBenchResult({
      bench: 'footprint',
      metric: 'warehouse database on disk per million raw events',
      unit: 'MB',
      value: perMillion(without.databaseBytes),
      baselines: { raw_mb_per_million: perMillion(without.rawBytes), rest_mb_per_million: perMillion(without.restBytes) },
      ratio_to_ceiling: round(without.databaseBytes / (without.rawBytes || 1), 3),
      extra: {
        ...extra,
        database_mb: round(without.databaseBytes / MB, 1),
        catalog_and_small_mb: round((without.databaseBytes - without.rawBytes - without.restBytes) / MB, 1),
        projected_10x_gb_extrapolated: projected10x(without.databaseBytes),
      },
    });
  } else {
    const archived = await timed(() =>
      transientBytes('archive', () =>
        archiveRaw({ ...config, RAW_RETENTION_DAYS: retentionDays, RAW_ARCHIVE_DIR: archiveDir }, { logger }),
      ),
    );
    const [left] = await query<{ events: string; staged: string }>(
      config.WAREHOUSE_URL,
      `select (select count(*) from raw.shop_events)::text as events, (select count(*) from staging.stg_clickstream__events)::text as staged`,
    );
    log(`archived ${archived.result.archived.length} load days in ${round(archived.seconds, 1)} s; raw keeps ${left?.events} events`);
    const kept = await measure('with_retention', events);
    await transientBytes('vacuum_full', async () => {
      for (const table of COMPACTED) await query(config.WAREHOUSE_URL, `vacuum full ${table}`);
    });
    const compacted = await measure('with_retention_compacted', events);
    const byLayer = (prefix: string, m: Measured) =>
      Object.fromEntries([...m.layers].map(([layer, bytes]) => [`${layer}_${prefix}_mb_per_million`, perMillion(bytes)]));
    printBenchResult({
      bench: 'footprint',
      metric: `warehouse database on disk per million events landed, after RAW_RETENTION_DAYS=${retentionDays} (compacted)`,
      unit: 'MB',
      value: perMillion(compacted.databaseBytes),
      baselines: {
        without_retention_mb_per_million: perMillion(without.databaseBytes),
        with_retention_uncompacted_mb_per_million: perMillion(kept.databaseBytes),
      },
      ratio_to_ceiling: round(compacted.databaseBytes / (without.databaseBytes || 1), 3),
      extra: {
        ...extra,
        retention_days: retentionDays,
        archived_days: archived.result.archived.length,
        events_left_in_raw: Number(left?.events ?? 0),
        events_left_in_staging: Number(left?.staged ?? 0),
        archive_seconds: round(archived.seconds, 1),
        parquet_mb: round(folderBytes(archiveDir) / MB, 1),
        ...byLayer('without', without),
        ...byLayer('with_compacted', compacted),
        stg_clickstream__events_without_mb_per_million: perMillion(without.relations.get(STAGED) ?? 0),
        stg_clickstream__events_with_mb_per_million: perMillion(kept.relations.get(STAGED) ?? 0),
        stg_clickstream__events_with_compacted_mb_per_million: perMillion(compacted.relations.get(STAGED) ?? 0),
        archived_keys_mb_per_million: perMillion(compacted.relations.get('raw.shop_events_archived_keys') ?? 0),
        database_without_mb: round(without.databaseBytes / MB, 1),
        database_with_mb: round(kept.databaseBytes / MB, 1),
        database_with_compacted_mb: round(compacted.databaseBytes / MB, 1),
      },
    });
  }
} finally {
  rmSync(archiveDir, { recursive: true, force: true });
  if (!values.keep) await query(databaseUrl('postgres'), `drop database if exists ${DATABASE} with (force)`);
}
