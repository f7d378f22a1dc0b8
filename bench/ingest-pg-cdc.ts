/**
 * `npm run bench -- ingest-pg-cdc`: the Postgres CDC ingestor's speed, with its baselines
 * measured in the same run on the same rows:
 *   - snapshot of an N-row table (default 1M) in a scratch database of the Postgres shop server
 *     (SHOP_PG_URL) by `npm run ingest:pg-cdc` (a child process) into raw_shop.orders_bench,
 *     against `psql \copy` of exactly the rows it landed into a new table like it (the ceiling,
 *     ratio_to_ceiling; target at least 0.85); interleaved over --rounds rounds (default 3, the
 *     order rotating), medians;
 *   - naive copier: SELECT * then one INSERT per row, on a subset;
 *   - streaming: the same workload (M row UPDATEs, default 200k, in 1,000-row transactions) on
 *     the Postgres shop through the slot and on a MariaDB shop through `npm run ingest:cdc`,
 *     interleaved over the same rounds, medians: the Postgres path's changes/s against the
 *     MariaDB path's, in the same run;
 *   - the ingestors' peak RSS.
 * --cpu-prof DIR writes a V8 CPU profile of each ingestor run into DIR. Prints the DESIGN.md JSON
 * line last. Scratch databases and the bench's replication slot are dropped afterwards (--keep
 * keeps them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import mysql from 'mysql2/promise';
import pg from 'pg';

import { loadConfig, roleUrl } from '../lib/config/index.ts';
import { migrate } from '../lib/warehouse/migrate.ts';
import { findLine, median, runIngestor, streamRate, type IngestorRun } from './lib/ingestor-process.ts';
import {
  fillOrdersBenchMariadb,
  fillOrdersBenchPostgres,
  ORDERS_BENCH_MARIADB,
  ORDERS_BENCH_POSTGRES,
} from './lib/orders-bench-layouts.ts';
import { printBenchResult, round } from './lib/result.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    changes: { type: 'string', default: '200000' },
    'naive-rows': { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    'skip-streaming': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout
    .write(`usage: npm run bench -- ingest-pg-cdc [--rows N] [--rounds N] [--changes N] [--naive-rows N] [--cpu-prof DIR] [--skip-streaming] [--keep]
Uses SHOP_PG_URL's server, SHOP_DB_URL's server (the MariaDB streaming comparison) and WAREHOUSE_URL's
server (scratch databases bench_pgcdc_*). --cpu-prof DIR: a V8 CPU profile of each ingestor run.\n`);
  process.exit(0);
}
const ROWS = Number(args.rows);
const CHANGES = Number(args.changes);
const NAIVE_ROWS = Number(args['naive-rows']);
const ROUNDS = Number(args.rounds);
if (![ROWS, CHANGES, NAIVE_ROWS, ROUNDS].every((n) => Number.isInteger(n) && n > 0) || CHANGES > ROWS) {
  process.stderr.write('--rows, --changes, --naive-rows and --rounds are positive whole numbers, --changes at most --rows\n');
  process.exit(2);
}

const log = (message: string) => process.stderr.write(`[bench ingest-pg-cdc] ${message}\n`);
const base = loadConfig();
const suffix = Date.now().toString(36);
const dbName = `bench_pgcdc_${suffix}`;
const slot = `bench_pgcdc_${suffix}`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

const shopPgUrl = withDatabase(base.SHOP_PG_URL, dbName);
const shopMariaUrl = withDatabase(base.SHOP_DB_URL, dbName);
/** Target of the Postgres ingestor, and of the ceiling (schema bench_ceiling). */
const whUrl = withDatabase(base.WAREHOUSE_URL, dbName);
/** Target of the MariaDB ingestor (the streaming comparison), its own warehouse so positions never meet. */
const whMariaUrl = withDatabase(base.WAREHOUSE_URL, `${dbName}_maria`);
const CEILING_TEMPLATE = 'bench_ceiling.orders_bench_template';
const CEILING_TABLE = 'bench_ceiling.orders_bench';

async function pgClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-bench' });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

function psql(url: string, commands: string[], singleTransaction = false): string {
  const out = spawnSync(
    'psql',
    [url, '-X', '-v', 'ON_ERROR_STOP=1', ...(singleTransaction ? ['-1'] : []), ...commands.flatMap((c) => ['-c', c])],
    {
      encoding: 'utf8',
    },
  );
  if (out.status !== 0) throw new Error(`psql failed: ${out.stderr}`);
  return out.stdout;
}

function pgIngestor(extraArgs: string[]): IngestorRun {
  return runIngestor({
    entry: 'ingest/pg-cdc/cli.ts',
    args: extraArgs,
    env: {
      SHOP_PG_URL: shopPgUrl,
      PG_CDC_SLOT: slot,
      PG_CDC_PUBLICATION: 'bench_pgcdc',
      WAREHOUSE_URL: whUrl,
      WAREHOUSE_INGEST_PASSWORD: base.WAREHOUSE_INGEST_PASSWORD,
      LOG_LEVEL: 'debug',
    },
    cpuProfDir: args['cpu-prof'],
    log,
  });
}

function mariaIngestor(extraArgs: string[], serverId: number): IngestorRun {
  return runIngestor({
    entry: 'ingest/cdc/cli.ts',
    args: ['--no-progress', ...extraArgs],
    env: {
      SHOP_DB_URL: shopMariaUrl,
      WAREHOUSE_URL: whMariaUrl,
      WAREHOUSE_INGEST_PASSWORD: base.WAREHOUSE_INGEST_PASSWORD,
      CDC_SERVER_ID: String(serverId),
      CDC_RAW_LAYOUT: 'typed',
      LOG_LEVEL: 'debug',
    },
    cpuProfDir: args['cpu-prof'],
    log,
  });
}

interface Sources {
  shopPg: pg.Client;
  maria: mysql.Connection | null;
  wh: pg.Client;
}

async function setup(): Promise<Sources> {
  const pgAdmin = await pgClient(withDatabase(base.SHOP_PG_URL, 'postgres'));
  await pgAdmin.query(`create database ${pg.escapeIdentifier(dbName)}`);
  await pgAdmin.end();
  const shopPg = await pgClient(shopPgUrl);
  await shopPg.query(ORDERS_BENCH_POSTGRES);
  log(`filling ${ROWS} rows in ${dbName}.orders_bench (Postgres shop)`);
  for (let start = 0; start < ROWS; start += 100_000)
    await shopPg.query(fillOrdersBenchPostgres(start + 1, Math.min(ROWS, start + 100_000)));
  await shopPg.query('vacuum analyze orders_bench');

  let maria: mysql.Connection | null = null;
  if (!args['skip-streaming']) {
    const admin = await mysql.createConnection({ uri: base.SHOP_DB_URL });
    admin.on('error', () => undefined);
    await admin.query(`CREATE DATABASE ${mysql.escapeId(dbName)}`);
    await admin.end();
    maria = await mysql.createConnection({ uri: shopMariaUrl });
    maria.on('error', () => undefined);
    await maria.query(ORDERS_BENCH_MARIADB);
    // The streaming workload touches rows 1..CHANGES only: the MariaDB table needs no more.
    log(`filling ${CHANGES} rows in ${dbName}.orders_bench (MariaDB shop)`);
    for (let start = 0; start < CHANGES; start += 100_000)
      await maria.query(fillOrdersBenchMariadb(start + 1, Math.min(CHANGES, start + 100_000)));
  }

  for (const url of args['skip-streaming'] ? [whUrl] : [whUrl, whMariaUrl]) await migrate({ ...base, WAREHOUSE_URL: url });
  const wh = await pgClient(whUrl);
  // The ceiling's schema belongs to ingest_writer, so psql loads as the role the ingestor uses.
  await wh.query('create schema bench_ceiling authorization ingest_writer');
  return { shopPg, maria, wh };
}

async function teardown(sources: Partial<Sources>): Promise<void> {
  await sources.shopPg?.end().catch(() => undefined);
  await sources.maria?.end().catch(() => undefined);
  await sources.wh?.end().catch(() => undefined);
  if (args.keep) {
    log(`kept ${dbName} (Postgres shop, MariaDB shop, warehouse), ${dbName}_maria (warehouse) and the slot ${slot}`);
    return;
  }
  // The slot first: it holds WAL on the shop server, and a database with a slot cannot be dropped.
  const pgAdmin = await pgClient(withDatabase(base.SHOP_PG_URL, 'postgres'));
  await pgAdmin
    .query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [slot])
    .catch(() => undefined);
  await pgAdmin.query(`drop database if exists ${pg.escapeIdentifier(dbName)} with (force)`).catch(() => undefined);
  await pgAdmin.end();
  const admin = await mysql.createConnection({ uri: base.SHOP_DB_URL });
  admin.on('error', () => undefined);
  await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(dbName)}`).catch(() => undefined);
  await admin.end();
  const whAdmin = await pgClient(withDatabase(base.WAREHOUSE_URL, 'postgres'));
  for (const db of [dbName, `${dbName}_maria`])
    await whAdmin.query(`drop database if exists ${pg.escapeIdentifier(db)} with (force)`).catch(() => undefined);
  await whAdmin.end();
}

/** Forgets the Postgres source in the warehouse, so the next ingestor run snapshots afresh (it drops the old slot itself). */
async function resetPgWarehouse(wh: pg.Client): Promise<void> {
  await wh.query('truncate raw.shop_changes, ingest.cdc_positions, ingest.cdc_snapshots_completed');
  await wh.query('drop table if exists raw_shop.orders_bench');
}

async function pgSnapshot(): Promise<{ rowsPerSecond: number; peakRssMb: number }> {
  const run = pgIngestor(['--until-idle', '500']);
  if ((await run.exit) !== 0) throw new Error('ingest:pg-cdc (snapshot) failed');
  const done = findLine(run, 'snapshot: committed');
  if (!done) throw new Error('no "snapshot: committed" line');
  if (Number(done.rows) !== ROWS) throw new Error(`the ingestor landed ${String(done.rows)} rows, expected ${ROWS}`);
  return { rowsPerSecond: Number(done.rowsPerSecond), peakRssMb: run.peakRssMb };
}

interface CeilingFile {
  dir: string;
  file: string;
  columns: string;
}

/**
 * The very rows the ingestor landed, exported once for psql, and an empty template of their
 * table: every ceiling round creates a new table like it in the transaction that loads it, as
 * the snapshot creates raw_shop.orders_bench in its transaction (with the warehouse's
 * wal_level=minimal both then skip WAL; a truncated table loaded in a later transaction would
 * not, and the ceiling would be lower than what the ingestor is allowed).
 */
async function exportCeiling(wh: pg.Client): Promise<CeilingFile> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pgcdc-'));
  const file = join(dir, 'typed.copy');
  const names = await wh.query<{ name: string }>(
    `select attname as name from pg_attribute where attrelid = 'raw_shop.orders_bench'::regclass and attnum > 0 and not attisdropped
        and attname not in ('change_id', '_loaded_at') order by attnum`,
  );
  const columns = names.rows.map((r) => pg.escapeIdentifier(r.name)).join(', ');
  psql(whUrl, [`\\copy (select ${columns} from raw_shop.orders_bench order by change_id) to '${file}'`]);
  log(`ceiling file: ${(statSync(file).size / 1e6).toFixed(0)} MB`);
  await wh.query(`create table ${CEILING_TEMPLATE} (like raw_shop.orders_bench including all)`);
  await wh.query(`alter table ${CEILING_TEMPLATE} owner to ingest_writer`);
  return { dir, file, columns };
}

async function psqlCopy(wh: pg.Client, ceiling: CeilingFile): Promise<number> {
  await wh.query(`drop table if exists ${CEILING_TABLE}`);
  await wh.query('checkpoint');
  const started = process.hrtime.bigint();
  const out = psql(
    roleUrl({ ...base, WAREHOUSE_URL: whUrl }, 'ingest_writer'),
    [
      `create table ${CEILING_TABLE} (like ${CEILING_TEMPLATE} including all)`,
      `\\copy ${CEILING_TABLE} (${ceiling.columns}) from '${ceiling.file}'`,
    ],
    true,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rows = Number(/COPY (\d+)/.exec(out)?.[1] ?? 0);
  if (rows !== ROWS) throw new Error(`psql \\copy loaded ${rows} rows, expected ${ROWS}`);
  return rows / seconds;
}

/** SELECT * from the shop, then one INSERT per row into the ceiling table: the obvious copier. */
async function naiveCopy(shopPg: pg.Client): Promise<number> {
  const target = await pgClient(roleUrl({ ...base, WAREHOUSE_URL: whUrl }, 'ingest_writer'));
  const rows = await shopPg.query<Record<string, unknown>>(`select * from orders_bench order by order_id limit ${NAIVE_ROWS}`);
  await target.query(`truncate ${CEILING_TABLE}`);
  const started = process.hrtime.bigint();
  for (const row of rows.rows) {
    await target.query(
      `insert into ${CEILING_TABLE} (operation, snapshot_id, _key, order_id, customer_id, status, total_amount, ship_city, placed_at, updated_at)
       values ('snapshot', 'naive', $1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        JSON.stringify({ order_id: Number(row.order_id) }),
        row.order_id,
        row.customer_id,
        row.status,
        row.total_amount,
        row.ship_city,
        row.placed_at,
        row.updated_at,
      ],
    );
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await target.end();
  return rows.rows.length / seconds;
}

/** CHANGES row UPDATEs in 1,000-row transactions: the streaming workload, the same on either source. */
async function writeChanges(run: (sql: string) => Promise<unknown>): Promise<void> {
  for (let start = 1; start <= CHANGES; start += 1_000)
    await run(
      `UPDATE orders_bench SET total_amount = total_amount + 1 WHERE order_id BETWEEN ${start} AND ${Math.min(CHANGES, start + 999)}`,
    );
}

async function main(): Promise<void> {
  const sources: Partial<Sources> = {};
  let ceiling: CeilingFile | null = null;
  try {
    Object.assign(sources, await setup());
    const { shopPg, maria, wh } = sources as Sources;

    // 1. Snapshot and ceiling, interleaved; round 1 runs the ingestor first (the ceiling loads its rows).
    const contenders = ['shopflow', 'psql_typed'] as const;
    const rates = new Map<string, number[]>(contenders.map((c) => [c, []]));
    let snapshotRss = 0;
    let snapshots = 0;
    for (let roundNo = 0; roundNo < ROUNDS; roundNo++) {
      const order = contenders.map((_, i) => contenders[(i + roundNo) % contenders.length]!);
      for (const contender of order) {
        let rate: number;
        if (contender === 'shopflow') {
          if (snapshots++ > 0) await resetPgWarehouse(wh);
          const snap = await pgSnapshot();
          snapshotRss = Math.max(snapshotRss, snap.peakRssMb);
          rate = snap.rowsPerSecond;
          ceiling ??= await exportCeiling(wh);
        } else {
          rate = await psqlCopy(wh, ceiling!);
        }
        rates.get(contender)!.push(rate);
        log(`round ${roundNo + 1} ${contender}: ${Math.round(rate)} rows/s`);
      }
    }
    const snapshotRate = median(rates.get('shopflow')!);
    const typedRate = median(rates.get('psql_typed')!);
    log(
      `medians of ${ROUNDS} rounds: ShopFlow ${Math.round(snapshotRate)}, psql \\copy ${Math.round(typedRate)} rows/s (${round(snapshotRate / typedRate)}); peak RSS ${snapshotRss.toFixed(0)} MB`,
    );

    // 2. The naive copier, on a subset.
    const naiveRate = await naiveCopy(shopPg);
    log(`naive SELECT * + INSERT per row (${NAIVE_ROWS} rows): ${Math.round(naiveRate)} rows/s`);

    // 3. Streaming, the same workload on both sources, interleaved. The MariaDB side snapshots its table first.
    const streams = new Map<string, number[]>([
      ['postgres', []],
      ['mariadb', []],
    ]);
    let streamRss = { postgres: 0, mariadb: 0 };
    if (maria) {
      const serverId = 900_000 + Math.floor(Math.random() * 100_000);
      const first = mariaIngestor(['--until-idle', '500'], serverId);
      if ((await first.exit) !== 0) throw new Error('ingest:cdc (snapshot of the MariaDB side) failed');
      const sides = ['postgres', 'mariadb'] as const;
      for (let roundNo = 0; roundNo < ROUNDS; roundNo++) {
        for (const side of sides.map((_, i) => sides[(i + roundNo) % sides.length]!)) {
          await writeChanges(side === 'postgres' ? (sql) => shopPg.query(sql) : (sql) => maria.query(sql));
          const run = side === 'postgres' ? pgIngestor(['--until-idle', '1000']) : mariaIngestor(['--until-idle', '1000'], serverId);
          if ((await run.exit) !== 0) throw new Error(`${side} ingestor (streaming) failed`);
          const rate = streamRate(run, side === 'postgres' ? 'streaming from the replication slot' : 'following the binlog');
          if (rate.changes !== CHANGES) throw new Error(`${side} streaming landed ${rate.changes} changes, expected ${CHANGES}`);
          streams.get(side)!.push(rate.perSecond);
          streamRss = { ...streamRss, [side]: Math.max(streamRss[side], run.peakRssMb) };
          log(
            `round ${roundNo + 1} streaming ${side}: ${rate.changes} changes in ${rate.seconds.toFixed(2)} s = ${Math.round(rate.perSecond)} changes/s`,
          );
        }
      }
    }
    const pgStream = streams.get('postgres')!.length ? median(streams.get('postgres')!) : NaN;
    const mariaStream = streams.get('mariadb')!.length ? median(streams.get('mariadb')!) : NaN;
    if (maria) log(`streaming medians: Postgres ${Math.round(pgStream)}, MariaDB ${Math.round(mariaStream)} changes/s`);

    const peakRss = Math.max(snapshotRss, streamRss.postgres);
    printBenchResult({
      bench: 'ingest-pg-cdc',
      metric: 'snapshot_rows_per_second',
      unit: 'rows/s',
      value: Math.round(snapshotRate),
      baselines: {
        psql_copy_typed_rows_per_second: Math.round(typedRate),
        naive_insert_per_row_rows_per_second: Math.round(naiveRate),
        ...(maria ? { mariadb_cdc_streaming_changes_per_second: Math.round(mariaStream) } : {}),
      },
      ratio_to_ceiling: round(snapshotRate / typedRate),
      extra: {
        snapshot_rows: ROWS,
        rounds: ROUNDS,
        snapshot_rounds_rows_per_second: rates.get('shopflow')!.map(Math.round).join(';'),
        psql_rounds_rows_per_second: rates.get('psql_typed')!.map(Math.round).join(';'),
        speedup_vs_naive: round(snapshotRate / naiveRate, 1),
        ...(maria
          ? {
              streaming_changes: CHANGES,
              streaming_changes_per_second: Math.round(pgStream),
              streaming_ratio_to_mariadb: round(pgStream / mariaStream),
              mariadb_streaming_peak_rss_mb: Math.round(streamRss.mariadb),
            }
          : {}),
        snapshot_peak_rss_mb: Math.round(snapshotRss),
        peak_rss_mb: Math.round(peakRss),
        target_085_typed_copy: snapshotRate >= 0.85 * typedRate,
        target_rss_300mb: peakRss < 300,
      },
    });
  } finally {
    if (ceiling) rmSync(ceiling.dir, { recursive: true, force: true });
    await teardown(sources);
  }
}

await main();
