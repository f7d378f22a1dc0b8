/**
 * `npm run bench -- ingest-cdc`: the CDC ingestor's speed, with its baselines measured in the
 * same run on the same rows:
 *   - snapshot of an N-row table (default 1M) by `npm run ingest:cdc` (a child process) on the typed
 *     raw layout (CDC_RAW_LAYOUT=typed; the bench's value) and on the jsonb one, against
 *     dlt 1.31 `sql_table` with the connectorx backend (a peer a team would pick; installed by the
 *     bench itself into .data/bench-venv), `psql \copy` of the same rows into a typed change-log
 *     table (the ceiling) and `psql \copy` of the same rows as jsonb change-log rows (the
 *     ceiling of today's raw layout); interleaved over --rounds rounds (default 3), medians;
 *   - naive copier: SELECT * then one INSERT per row, on a subset (the "obvious" way);
 *   - streaming of M binlog changes (default 200k), and the end-to-end lag p99 at a steady
 *     1,000 changes/s; peak RSS of the ingestor process throughout.
 * Prints the DESIGN.md JSON line last. Scratch databases are dropped afterwards (--keep keeps them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import mysql from 'mysql2/promise';
import pg from 'pg';

import { loadConfig, roleUrl, ROOT_DIR } from '../lib/config/index.ts';
import { migrate } from '../lib/warehouse/migrate.ts';
import { benchPython } from './lib/bench-venv.ts';
import { fillOrdersBenchMariadb, ORDERS_BENCH_MARIADB, TYPED_FROM_SHOP_CHANGES, typedOrdersLog } from './lib/orders-bench-layouts.ts';
import { findLine, median, pollPeakRss, runIngestor, waitForLine, type IngestorRun } from './lib/ingestor-process.ts';
import { printBenchResult, round } from './lib/result.ts';
import type { RawLayout } from '../ingest/cdc/change.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    changes: { type: 'string', default: '200000' },
    'naive-rows': { type: 'string', default: '5000' },
    'lag-seconds': { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout
    .write(`usage: npm run bench -- ingest-cdc [--rows N] [--rounds N] [--changes N] [--naive-rows N] [--lag-seconds S] [--cpu-prof DIR] [--keep]
Uses SHOP_DB_URL's server and WAREHOUSE_URL's server (scratch databases bench_cdc_*).
--cpu-prof DIR writes a V8 CPU profile of each ingestor run into DIR (open in Chrome DevTools).\n`);
  process.exit(0);
}
const ROWS = Number(args.rows);
const CHANGES = Number(args.changes);
const NAIVE_ROWS = Number(args['naive-rows']);
const LAG_SECONDS = Number(args['lag-seconds']);
const ROUNDS = Number(args.rounds);

const log = (message: string) => process.stderr.write(`[bench ingest-cdc] ${message}\n`);
const base = loadConfig();
const suffix = `${Date.now().toString(36)}`;
const dbName = `bench_cdc_${suffix}`;
const ceilingDb = `bench_cdc_ceiling_${suffix}`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

const shopUrl = withDatabase(base.SHOP_DB_URL, dbName);
const whUrl = withDatabase(base.WAREHOUSE_URL, dbName);
const ceilingUrl = withDatabase(base.WAREHOUSE_URL, ceilingDb);

/** The CDC ingestor as a real process (bench/lib/ingestor-process.ts). */
function runCdcIngestor(extraArgs: string[], serverId: number, layout: RawLayout = 'typed'): IngestorRun {
  return runIngestor({
    entry: 'ingest/cdc/cli.ts',
    args: ['--no-progress', ...extraArgs],
    env: {
      SHOP_DB_URL: shopUrl,
      WAREHOUSE_URL: whUrl,
      WAREHOUSE_INGEST_PASSWORD: base.WAREHOUSE_INGEST_PASSWORD,
      CDC_SERVER_ID: String(serverId),
      CDC_RAW_LAYOUT: layout,
      LOG_LEVEL: 'debug',
    },
    cpuProfDir: args['cpu-prof'],
    log,
  });
}

async function setup(): Promise<{ source: mysql.Connection; wh: pg.Client }> {
  const admin = await mysql.createConnection({ uri: base.SHOP_DB_URL });
  admin.on('error', () => undefined);
  await admin.query(`CREATE DATABASE ${mysql.escapeId(dbName)}`);
  await admin.end();
  const source = await mysql.createConnection({ uri: shopUrl, multipleStatements: true });
  source.on('error', () => undefined);
  await source.query(ORDERS_BENCH_MARIADB);
  log(`filling ${ROWS} rows in ${dbName}.orders_bench`);
  for (let start = 0; start < ROWS; start += 100_000) {
    const end = Math.min(ROWS, start + 100_000);
    await source.query(fillOrdersBenchMariadb(start + 1, end));
  }
  for (const [url] of [[whUrl], [ceilingUrl]] as const) await migrate({ ...base, WAREHOUSE_URL: url });
  const wh = new pg.Client({ connectionString: whUrl });
  wh.on('error', () => undefined);
  await wh.connect();
  return { source, wh };
}

async function teardown(): Promise<void> {
  if (args.keep) {
    log(`kept ${dbName} (MariaDB + Postgres) and ${ceilingDb} (Postgres)`);
    return;
  }
  const admin = await mysql.createConnection({ uri: base.SHOP_DB_URL });
  admin.on('error', () => undefined);
  await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(dbName)}`).catch(() => undefined);
  await admin.end();
  const pgAdmin = new pg.Client({ connectionString: withDatabase(base.WAREHOUSE_URL, 'postgres') });
  pgAdmin.on('error', () => undefined);
  await pgAdmin.connect();
  for (const db of [dbName, ceilingDb])
    await pgAdmin.query(`drop database if exists ${pg.escapeIdentifier(db)} with (force)`).catch(() => undefined);
  await pgAdmin.end();
}

/** SELECT * and one INSERT per row into raw.shop_changes, as ingest_writer: the obvious copier. */
async function naiveCopy(source: mysql.Connection): Promise<number> {
  const target = new pg.Client({ connectionString: roleUrl({ ...base, WAREHOUSE_URL: ceilingUrl }, 'ingest_writer') });
  target.on('error', () => undefined);
  await target.connect();
  const [rows] = (await source.query({
    sql: `SELECT * FROM orders_bench ORDER BY order_id LIMIT ${NAIVE_ROWS}`,
    dateStrings: true,
  } as mysql.QueryOptions)) as unknown as [Record<string, unknown>[]];
  const started = process.hrtime.bigint();
  for (const row of rows) {
    await target.query(
      "insert into raw.shop_changes (source_database, table_name, operation, primary_key, after_image, snapshot_id) values ($1, 'orders_bench', 'snapshot', $2, $3, 'naive')",
      [dbName, JSON.stringify({ order_id: row.order_id }), JSON.stringify(row)],
    );
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await target.end();
  // raw is append-only for ingest_writer: the bench's own rows are removed as the superuser.
  const cleanup = new pg.Client({ connectionString: ceilingUrl });
  cleanup.on('error', () => undefined);
  await cleanup.connect();
  await cleanup.query("delete from raw.shop_changes where snapshot_id = 'naive'");
  await cleanup.end();
  return rows.length / seconds;
}

const LOG_COLUMNS =
  'source_database, table_name, operation, primary_key, before_image, after_image, binlog_file, binlog_position, row_index, gtid, snapshot_id, source_committed_at, ddl';
const TYPED_TABLE = 'raw.orders_bench_typed';

function psql(url: string, command: string): string {
  const out = spawnSync('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', '-c', command], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`psql failed: ${out.stderr}`);
  return out.stdout;
}

interface CopyFiles {
  dir: string;
  jsonbLog: string;
  typed: string;
}

/**
 * The very rows the ingestor landed, exported twice: as jsonb change-log rows (today's layout)
 * and as typed change-log rows (the same values cast from the after-image).
 */
async function exportCopyFiles(ceiling: pg.Client): Promise<CopyFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cdc-'));
  const files = { dir, jsonbLog: join(dir, 'jsonb-log.copy'), typed: join(dir, 'typed.copy') };
  psql(
    whUrl,
    `\\copy (select ${LOG_COLUMNS} from raw.shop_changes where operation = 'snapshot' order by change_id) to '${files.jsonbLog}'`,
  );
  psql(whUrl, `\\copy (${TYPED_FROM_SHOP_CHANGES}) to '${files.typed}'`);
  log(
    `copy files: jsonb log ${(statSync(files.jsonbLog).size / 1e6).toFixed(0)} MB, typed ${(statSync(files.typed).size / 1e6).toFixed(0)} MB`,
  );
  const typed = typedOrdersLog(TYPED_TABLE);
  await ceiling.query(typed.ddl);
  for (const statement of typed.indexes) await ceiling.query(statement);
  await ceiling.query(`grant insert on ${TYPED_TABLE} to ingest_writer`);
  return files;
}

/** psql \copy of a file into an emptied table of the ceiling warehouse, as ingest_writer. */
async function psqlCopy(ceiling: pg.Client, target: 'jsonb' | 'typed', files: CopyFiles): Promise<number> {
  const table = target === 'jsonb' ? 'raw.shop_changes' : TYPED_TABLE;
  await ceiling.query(`truncate ${table}`);
  await ceiling.query('checkpoint');
  const into = target === 'jsonb' ? `raw.shop_changes (${LOG_COLUMNS})` : `${TYPED_TABLE} (${typedOrdersLog(TYPED_TABLE).copyColumns})`;
  const file = target === 'jsonb' ? files.jsonbLog : files.typed;
  const started = process.hrtime.bigint();
  const out = psql(roleUrl({ ...base, WAREHOUSE_URL: ceilingUrl }, 'ingest_writer'), `\\copy ${into} from '${file}'`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rows = Number(/COPY (\d+)/.exec(out)?.[1] ?? 0);
  if (rows !== ROWS) throw new Error(`psql \\copy into ${table} loaded ${rows} rows, expected ${ROWS}`);
  return rows / seconds;
}

/** dlt sql_table (connectorx backend) into the ceiling warehouse, dataset dlt_bench, replacing each round. */
async function runDlt(python: string, pipelinesDir: string): Promise<{ rowsPerSecond: number; peakRssMb: number; formats: string }> {
  const sourceUrl = new URL(shopUrl);
  sourceUrl.protocol = 'mysql+pymysql:';
  const child = spawn(
    python,
    [join(ROOT_DIR, 'bench', 'peers', 'dlt_sql_table.py'), sourceUrl.toString(), ceilingUrl, 'orders_bench', pipelinesDir],
    {
      cwd: pipelinesDir,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', RUNTIME__LOG_LEVEL: 'WARNING' },
    },
  );
  let peakRssMb = 0;
  const poll = pollPeakRss(child.pid!, (mb) => (peakRssMb = Math.max(peakRssMb, mb)));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  clearInterval(poll);
  if (code !== 0) throw new Error(`dlt exited with ${code}: ${stderr.slice(-2000)}`);
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rows: number; seconds: number; file_formats: string[] };
  if (result.rows !== ROWS) throw new Error(`dlt loaded ${result.rows} rows, expected ${ROWS}`);
  return { rowsPerSecond: result.rows / result.seconds, peakRssMb, formats: result.file_formats.join(',') };
}

/** Empties the bench warehouse's change log and positions, so the next ingestor run snapshots afresh. */
async function resetWarehouse(wh: pg.Client): Promise<void> {
  await wh.query(`truncate raw.shop_changes, raw.dead_letters, ingest.cdc_positions, ingest.cdc_snapshots_completed, ingest.metrics`);
  await wh.query('drop table if exists raw_shop.orders_bench, raw_shop.lag_probe');
}

async function shopflowSnapshot(serverId: number, layout: RawLayout): Promise<{ rowsPerSecond: number; peakRssMb: number; rows: number }> {
  const snap = runCdcIngestor(['--until-idle', '500'], serverId, layout);
  if ((await snap.exit) !== 0) throw new Error('ingestor (snapshot) failed');
  const done = findLine(snap, 'snapshot done');
  if (!done) throw new Error('no "snapshot done" line');
  return { rowsPerSecond: Number(done.rowsPerSecond), peakRssMb: snap.peakRssMb, rows: Number(done.rows) };
}

async function main(): Promise<void> {
  const serverId = 900_000 + Math.floor(Math.random() * 100_000);
  const { source, wh } = await setup();
  try {
    // 1. Snapshot, interleaved with its baselines on the same rows: each round runs every
    // contender once, the order rotating, so a drifting machine does not favour one of them.
    const python = benchPython(log);
    const pipelinesDir = mkdtempSync(join(tmpdir(), 'bench-cdc-dlt-'));
    const ceiling = new pg.Client({ connectionString: ceilingUrl });
    ceiling.on('error', () => undefined);
    await ceiling.connect();
    // The ingestor on both raw layouts: typed (the chosen one, the bench's value) and jsonb (the
    // layout dbt staging reads until it moves; its rows also make the psql baselines' files).
    const contenders = ['shopflow', 'dlt', 'psql_typed', 'psql_jsonb', 'shopflow_jsonb'] as const;
    const rates = new Map<string, number[]>(contenders.map((c) => [c, []]));
    let snapshotRss = 0;
    let dltRss = 0;
    let dltFormats = '';
    let files: CopyFiles | null = null;
    let lastLayout: RawLayout | null = null;
    const snapshot = async (layout: RawLayout): Promise<number> => {
      if (lastLayout) await resetWarehouse(wh);
      const snap = await shopflowSnapshot(serverId, layout);
      lastLayout = layout;
      if (snap.rows !== ROWS) throw new Error(`the ingestor (${layout}) landed ${snap.rows} rows, expected ${ROWS}`);
      if (layout === 'typed') snapshotRss = Math.max(snapshotRss, snap.peakRssMb);
      return snap.rowsPerSecond;
    };
    try {
      for (let roundNo = 0; roundNo < ROUNDS; roundNo++) {
        const order = contenders.map((_, i) => contenders[(i + roundNo) % contenders.length]!);
        for (const contender of order) {
          let rate: number;
          if (contender === 'shopflow') {
            rate = await snapshot('typed');
          } else if (contender === 'shopflow_jsonb') {
            rate = await snapshot('jsonb');
            // The psql baselines load exactly the rows the ingestor landed.
            files ??= await exportCopyFiles(ceiling);
          } else if (contender === 'dlt') {
            const run = await runDlt(python, pipelinesDir);
            dltRss = Math.max(dltRss, run.peakRssMb);
            dltFormats = run.formats;
            rate = run.rowsPerSecond;
          } else {
            if (!files) continue; // made up below, once the jsonb run has landed the rows
            rate = await psqlCopy(ceiling, contender === 'psql_typed' ? 'typed' : 'jsonb', files);
          }
          rates.get(contender)!.push(rate);
          log(`round ${roundNo + 1} ${contender}: ${Math.round(rate)} rows/s`);
        }
      }
      // Round 1 skipped what needs the ingestor's rows and came before its first run: make it up.
      for (const contender of ['psql_typed', 'psql_jsonb'] as const) {
        while (rates.get(contender)!.length < ROUNDS)
          rates.get(contender)!.push(await psqlCopy(ceiling, contender === 'psql_typed' ? 'typed' : 'jsonb', files!));
      }
      // Streaming and lag below run on the typed layout: the warehouse must hold its snapshot.
      if (lastLayout !== 'typed') await snapshot('typed');
    } finally {
      await ceiling.end().catch(() => undefined);
      if (files) rmSync(files.dir, { recursive: true, force: true });
      rmSync(pipelinesDir, { recursive: true, force: true });
    }
    const snapshotRate = median(rates.get('shopflow')!);
    const dltRate = median(rates.get('dlt')!);
    const typedRate = median(rates.get('psql_typed')!);
    const jsonbRate = median(rates.get('psql_jsonb')!);
    const jsonbIngestorRate = median(rates.get('shopflow_jsonb')!);
    log(
      `medians of ${ROUNDS} rounds: ShopFlow typed ${Math.round(snapshotRate)}, ShopFlow jsonb ${Math.round(jsonbIngestorRate)}, dlt ${Math.round(dltRate)}, psql typed ${Math.round(typedRate)}, psql jsonb ${Math.round(jsonbRate)} rows/s; peak RSS ShopFlow ${snapshotRss.toFixed(0)} MB, dlt ${dltRss.toFixed(0)} MB`,
    );

    // 2. The naive copier, on a subset.
    const naiveRate = await naiveCopy(source);
    log(`naive SELECT * + INSERT per row (${NAIVE_ROWS} rows): ${Math.round(naiveRate)} rows/s`);

    // 3. Streaming: CHANGES row changes already in the binlog, then the ingestor catches up.
    log(`writing ${CHANGES} binlog changes (UPDATEs in 1,000-row transactions)`);
    for (let start = 1; start <= CHANGES; start += 1_000) {
      await source.query(
        `UPDATE orders_bench SET total_amount = total_amount + 1 WHERE order_id BETWEEN ${start} AND ${Math.min(CHANGES, start + 999)}`,
      );
    }
    const stream = runCdcIngestor(['--until-idle', '1000'], serverId);
    if ((await stream.exit) !== 0) throw new Error('ingestor (streaming) failed');
    const started = Date.parse(String((await waitForLine(stream, 'following the binlog')).time));
    const batches = stream.lines.filter((l) => l.msg === 'batch landed');
    const landed = batches.reduce((sum, b) => sum + Number(b.rows), 0);
    const finished = Date.parse(String(batches.at(-1)?.time));
    const streamRate = landed / ((finished - started) / 1000);
    log(
      `streaming: ${landed} changes in ${((finished - started) / 1000).toFixed(2)} s = ${Math.round(streamRate)} changes/s, peak RSS ${stream.peakRssMb.toFixed(0)} MB`,
    );

    // 4. Lag at a steady 1,000 changes/s: 10-row transactions every 10 ms, each row stamped with its write time.
    const follow = runCdcIngestor([], serverId);
    await waitForLine(follow, 'following the binlog');
    log(`steady 1,000 changes/s for ${LAG_SECONDS} s`);
    await source.query(
      'CREATE TABLE lag_probe (probe_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, written_at DATETIME(3) NOT NULL)',
    );
    const until = Date.now() + LAG_SECONDS * 1000;
    let tick = Date.now();
    while (Date.now() < until) {
      await source.query(`INSERT INTO lag_probe (written_at) VALUES ${Array.from({ length: 10 }, () => '(UTC_TIMESTAMP(3))').join(',')}`);
      tick += 10;
      const wait = tick - Date.now();
      if (wait > 0) await sleep(wait);
    }
    await sleep(2_000);
    follow.stop();
    await follow.exit;
    const lag = await wh.query<{ p50: number; p99: number; n: string; per_second: number }>(
      `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99, count(*) as n,
              count(*) / nullif(extract(epoch from max(written) - min(written)), 0) as per_second
         from (select extract(epoch from _loaded_at - written_at::timestamptz) * 1000 as ms, written_at::timestamptz as written
                 from raw_shop.lag_probe where operation = 'insert') l`,
    );
    const { p50, p99, n, per_second: perSecond } = lag.rows[0]!;
    log(`lag over ${n} changes at ${Math.round(perSecond)} changes/s: p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms`);

    const peakRss = Math.max(snapshotRss, stream.peakRssMb, follow.peakRssMb);
    printBenchResult({
      bench: 'ingest-cdc',
      metric: 'snapshot_rows_per_second',
      unit: 'rows/s',
      value: Math.round(snapshotRate),
      baselines: {
        psql_copy_typed_rows_per_second: Math.round(typedRate),
        dlt_connectorx_rows_per_second: Math.round(dltRate),
        psql_copy_jsonb_log_rows_per_second: Math.round(jsonbRate),
        naive_insert_per_row_rows_per_second: Math.round(naiveRate),
      },
      ratio_to_ceiling: round(snapshotRate / typedRate),
      extra: {
        snapshot_rows: ROWS,
        rounds: ROUNDS,
        ratio_to_dlt: round(snapshotRate / dltRate),
        ratio_to_jsonb_log_copy: round(snapshotRate / jsonbRate),
        dlt_load_file_formats: dltFormats,
        raw_layout: 'typed',
        jsonb_layout_ingestor_rows_per_second: Math.round(jsonbIngestorRate),
        jsonb_layout_ingestor_ratio_to_dlt: round(jsonbIngestorRate / dltRate),
        typed_vs_jsonb_layout_ingestor: round(snapshotRate / jsonbIngestorRate),
        dlt_peak_rss_mb: Math.round(dltRss),
        streaming_changes_per_second: Math.round(streamRate),
        streaming_changes: landed,
        lag_p50_ms: Math.round(p50),
        lag_p99_ms: Math.round(p99),
        lag_rate_changes_per_second: Math.round(perSecond),
        peak_rss_mb: Math.round(peakRss),
        speedup_vs_naive: round(snapshotRate / naiveRate, 1),
        target_1_2x_dlt: snapshotRate >= 1.2 * dltRate,
        target_half_typed_copy: snapshotRate >= 0.5 * typedRate,
        target_streaming_20k: streamRate >= 20_000,
        target_lag_p99_1s: p99 < 1_000,
        target_rss_300mb: peakRss < 300,
      },
    });
  } finally {
    await source.end().catch(() => undefined);
    await wh.end().catch(() => undefined);
    await teardown();
  }
}

await main();
