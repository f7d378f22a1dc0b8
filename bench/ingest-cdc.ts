/**
 * `npm run bench -- ingest-cdc`: the CDC ingestor's speed, with its baselines measured in the
 * same run on the same rows:
 *   - snapshot of an N-row table (default 1M) by `npm run ingest:cdc` (a child process);
 *   - naive copier: SELECT * then one INSERT per row, on a subset (the "obvious" way);
 *   - ceiling: psql \copy of exactly the rows the ingestor landed, from a file;
 *   - streaming of M binlog changes (default 200k), and the end-to-end lag p99 at a steady
 *     1,000 changes/s; peak RSS of the ingestor process throughout.
 * Prints the DESIGN.md JSON line last. Scratch databases are dropped afterwards (--keep keeps them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import mysql from 'mysql2/promise';
import pg from 'pg';

import { loadConfig, roleUrl, ROOT_DIR } from '../lib/config/index.ts';
import { migrate } from '../lib/warehouse/migrate.ts';
import { printBenchResult, round } from './lib/result.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    changes: { type: 'string', default: '200000' },
    'naive-rows': { type: 'string', default: '5000' },
    'lag-seconds': { type: 'string', default: '15' },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout
    .write(`usage: npm run bench -- ingest-cdc [--rows N] [--changes N] [--naive-rows N] [--lag-seconds S] [--cpu-prof DIR] [--keep]
Uses SHOP_DB_URL's server and WAREHOUSE_URL's server (scratch databases bench_cdc_*).
--cpu-prof DIR writes a V8 CPU profile of each ingestor run into DIR (open in Chrome DevTools).\n`);
  process.exit(0);
}
const ROWS = Number(args.rows);
const CHANGES = Number(args.changes);
const NAIVE_ROWS = Number(args['naive-rows']);
const LAG_SECONDS = Number(args['lag-seconds']);

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

interface ChildRun {
  lines: Record<string, unknown>[];
  peakRssMb: number;
  exit: Promise<number | null>;
  stop(): void;
}

/** The ingestor as a real process (node + tsx loader), its JSON log parsed, its VmHWM polled. */
function runIngestor(extraArgs: string[], serverId: number): ChildRun {
  const profile = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', join(ROOT_DIR, 'ingest', 'cdc', 'cli.ts'), '--no-progress', ...extraArgs],
    {
      cwd: ROOT_DIR,
      shell: false,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SHOP_DB_URL: shopUrl,
        WAREHOUSE_URL: whUrl,
        WAREHOUSE_INGEST_PASSWORD: base.WAREHOUSE_INGEST_PASSWORD,
        CDC_SERVER_ID: String(serverId),
        LOG_LEVEL: 'debug',
      },
    },
  );
  child.on('error', (error) => log(`ingestor process error: ${error.message}`));
  const run: ChildRun = {
    lines: [],
    peakRssMb: 0,
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    stop: () => child.kill('SIGTERM'),
  };
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      try {
        run.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const poll = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) run.peakRssMb = Math.max(run.peakRssMb, Number(match[1]) / 1024);
    } catch {
      // exited
    }
  }, 100);
  void run.exit.then(() => clearInterval(poll));
  return run;
}

function find(run: ChildRun, msg: string): Record<string, unknown> | undefined {
  return run.lines.find((l) => l.msg === msg);
}

async function waitForLine(run: ChildRun, msg: string, timeoutMs = 600_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = find(run, msg);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`ingestor never logged "${msg}"`);
    await sleep(50);
  }
}

async function setup(): Promise<{ source: mysql.Connection; wh: pg.Client }> {
  const admin = await mysql.createConnection({ uri: base.SHOP_DB_URL });
  admin.on('error', () => undefined);
  await admin.query(`CREATE DATABASE ${mysql.escapeId(dbName)}`);
  await admin.end();
  const source = await mysql.createConnection({ uri: shopUrl, multipleStatements: true });
  source.on('error', () => undefined);
  await source.query(`CREATE TABLE orders_bench (
    order_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    customer_id BIGINT UNSIGNED NOT NULL,
    status VARCHAR(20) NOT NULL,
    total_amount DECIMAL(12,2) NOT NULL,
    ship_city VARCHAR(100) NOT NULL,
    placed_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  log(`filling ${ROWS} rows in ${dbName}.orders_bench`);
  for (let start = 0; start < ROWS; start += 100_000) {
    const end = Math.min(ROWS, start + 100_000);
    await source.query(`INSERT INTO orders_bench (order_id, customer_id, status, total_amount, ship_city, placed_at)
      SELECT seq, seq % 50000, ELT(1 + seq % 5, 'placed', 'paid', 'shipped', 'delivered', 'cancelled'),
             (seq % 100000) / 100, CONCAT('City ', seq % 977), TIMESTAMPADD(SECOND, seq, '2024-01-01 00:00:00.123')
        FROM seq_${start + 1}_to_${end}`);
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

/** psql \copy of the very rows the ingestor landed: export them to a file, load into a fresh warehouse. */
function psqlCeiling(): { rowsPerSecond: number; rows: number } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cdc-'));
  const file = join(dir, 'snapshot.copy');
  const columns =
    'source_database, table_name, operation, primary_key, before_image, after_image, binlog_file, binlog_position, row_index, gtid, snapshot_id, source_committed_at, ddl';
  try {
    const out = spawnSync(
      'psql',
      [
        whUrl,
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        `\\copy (select ${columns} from raw.shop_changes where operation = 'snapshot' order by change_id) to '${file}'`,
      ],
      { encoding: 'utf8' },
    );
    if (out.status !== 0) throw new Error(`psql export failed: ${out.stderr}`);
    log(`ceiling file: ${(statSync(file).size / 1e6).toFixed(0)} MB`);
    const started = process.hrtime.bigint();
    const load = spawnSync(
      'psql',
      [
        roleUrl({ ...base, WAREHOUSE_URL: ceilingUrl }, 'ingest_writer'),
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        `\\copy raw.shop_changes (${columns}) from '${file}'`,
      ],
      { encoding: 'utf8' },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (load.status !== 0) throw new Error(`psql \\copy failed: ${load.stderr}`);
    const rows = Number(/COPY (\d+)/.exec(load.stdout)?.[1] ?? 0);
    return { rowsPerSecond: rows / seconds, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const serverId = 900_000 + Math.floor(Math.random() * 100_000);
  const { source, wh } = await setup();
  try {
    // 1. Snapshot.
    log('snapshot by the ingestor');
    const snap = runIngestor(['--until-idle', '500'], serverId);
    if ((await snap.exit) !== 0) throw new Error('ingestor (snapshot) failed');
    const snapshotDone = find(snap, 'snapshot done');
    if (!snapshotDone) throw new Error('no "snapshot done" line');
    const snapshotRate = Number(snapshotDone.rowsPerSecond);
    log(
      `snapshot: ${snapshotDone.rows} rows in ${Number(snapshotDone.seconds).toFixed(2)} s = ${Math.round(snapshotRate)} rows/s, peak RSS ${snap.peakRssMb.toFixed(0)} MB`,
    );

    // 2. Baselines on the same rows.
    const ceiling = psqlCeiling();
    log(`psql \\copy ceiling: ${ceiling.rows} rows at ${Math.round(ceiling.rowsPerSecond)} rows/s`);
    const naiveRate = await naiveCopy(source);
    log(`naive SELECT * + INSERT per row (${NAIVE_ROWS} rows): ${Math.round(naiveRate)} rows/s`);

    // 3. Streaming: CHANGES row changes already in the binlog, then the ingestor catches up.
    log(`writing ${CHANGES} binlog changes (UPDATEs in 1,000-row transactions)`);
    for (let start = 1; start <= CHANGES; start += 1_000) {
      await source.query(
        `UPDATE orders_bench SET total_amount = total_amount + 1 WHERE order_id BETWEEN ${start} AND ${Math.min(CHANGES, start + 999)}`,
      );
    }
    const stream = runIngestor(['--until-idle', '1000'], serverId);
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
    const follow = runIngestor([], serverId);
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
         from (select extract(epoch from _loaded_at - (after_image->>'written_at')::timestamptz) * 1000 as ms, (after_image->>'written_at')::timestamptz as written
                 from raw.shop_changes where table_name = 'lag_probe' and operation = 'insert') l`,
    );
    const { p50, p99, n, per_second: perSecond } = lag.rows[0]!;
    log(`lag over ${n} changes at ${Math.round(perSecond)} changes/s: p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms`);

    const peakRss = Math.max(snap.peakRssMb, stream.peakRssMb, follow.peakRssMb);
    printBenchResult({
      bench: 'ingest-cdc',
      metric: 'snapshot_rows_per_second',
      unit: 'rows/s',
      value: Math.round(snapshotRate),
      baselines: {
        psql_copy_ceiling_rows_per_second: Math.round(ceiling.rowsPerSecond),
        naive_insert_per_row_rows_per_second: Math.round(naiveRate),
      },
      ratio_to_ceiling: round(snapshotRate / ceiling.rowsPerSecond),
      extra: {
        snapshot_rows: Number(snapshotDone.rows),
        streaming_changes_per_second: Math.round(streamRate),
        streaming_changes: landed,
        lag_p50_ms: Math.round(p50),
        lag_p99_ms: Math.round(p99),
        lag_rate_changes_per_second: Math.round(perSecond),
        peak_rss_mb: Math.round(peakRss),
        speedup_vs_naive: round(snapshotRate / naiveRate, 1),
        target_snapshot_100k: snapshotRate >= 100_000,
        target_ratio_25pct: snapshotRate / ceiling.rowsPerSecond >= 0.25,
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
