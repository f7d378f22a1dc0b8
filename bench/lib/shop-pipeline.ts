/**
 * A generated shop landed in a scratch warehouse the way production lands one: the CDC
 * ingestor snapshots an empty shop database, the generator writes the history into it, and
 * the ingestor follows the binlog to its head. Each component runs as its own CLI. Benches
 * cannot use tests/dbt/pipeline.ts (its helpers need a vitest worker).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import mysql from 'mysql2/promise';
import pg from 'pg';

import { ROOT_DIR, type Config } from '../../lib/config/index.ts';
import { ProcessFailedError } from '../../lib/errors.ts';
import { migrate } from '../../lib/warehouse/migrate.ts';

export interface ShopSize {
  from: string;
  to: string;
  customers: number;
  products: number;
  orders: number;
  seed: number;
}

export interface LandedShop {
  /** Config whose WAREHOUSE_URL (superuser) and SHOP_DB_URL point at the scratch databases. */
  config: Config;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function pgAdmin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres'), application_name: 'shopflow-bench' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function shopAdmin(url: string, sql: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
  connection.on('error', () => undefined);
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}

/** The generator's flags for a seeded backfill of this size. */
export function backfillArgs(size: ShopSize): string[] {
  return [
    '--backfill',
    '--from',
    size.from,
    '--to',
    size.to,
    '--customers',
    String(size.customers),
    '--products',
    String(size.products),
    '--orders',
    String(size.orders),
    '--seed',
    String(size.seed),
  ];
}

/** Starts a ShopFlow CLI as node with the tsx loader (a SIGTERM must reach the process itself); `done` settles on exit. */
export function startCli(entry: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT_DIR,
    env,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (error) => reject(new ProcessFailedError(entry, null, null, error.message)));
    child.on('close', (code, signal) =>
      code === 0 ? resolve() : reject(new ProcessFailedError(`${entry} ${args.join(' ')}`, code, signal, tail)),
    );
  });
  return { child, done };
}

/** Waits until every CDC position says its snapshot is done; fails at once if the ingestor exits first. */
export async function waitForSnapshot(warehouseUrl: string, exited: Promise<void>, timeoutMs = 120_000): Promise<void> {
  let failure: unknown;
  let finished = false;
  exited.then(
    () => (finished = true),
    (error: unknown) => ((finished = true), (failure = error)),
  );
  const client = new pg.Client({ connectionString: warehouseUrl, application_name: 'shopflow-bench' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (finished) throw failure ?? new Error('the CDC ingestor exited before finishing its snapshot');
      const { rows } = await client.query<{ snapshot_state: string }>('select snapshot_state from ingest.cdc_positions');
      if (rows.length > 0 && rows.every((r) => r.snapshot_state === 'done')) return;
      await sleep(250);
    }
    throw new Error('the CDC snapshot did not finish in time');
  } finally {
    await client.end();
  }
}

/** Generates a shop (MariaDB sink only) into fresh databases named `database` and lands it in the warehouse. */
export async function landGeneratedShop(
  config: Config,
  database: string,
  size: ShopSize,
  options: { anomaliesManifest?: string } = {},
): Promise<LandedShop> {
  const warehouseUrl = withDatabase(config.WAREHOUSE_URL, database);
  const shopUrl = withDatabase(config.SHOP_DB_URL, database);
  const drop = async () => {
    await pgAdmin(config.WAREHOUSE_URL, `drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
    await shopAdmin(config.SHOP_DB_URL, `drop database if exists ${mysql.escapeId(database)}`);
  };
  await drop();
  await pgAdmin(config.WAREHOUSE_URL, `create database ${pg.escapeIdentifier(database)}`);
  const landedConfig: Config = { ...config, WAREHOUSE_URL: warehouseUrl, SHOP_DB_URL: shopUrl };
  await migrate(landedConfig);
  await shopAdmin(config.SHOP_DB_URL, `create database ${mysql.escapeId(database)} character set utf8mb4 collate utf8mb4_unicode_ci`);
  await shopAdmin(shopUrl, readFileSync(`${ROOT_DIR}/generator/ddl/shop.sql`, 'utf8'));

  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'SHOPFLOW_DATA_DIR', 'PYTHON_VENV']) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  Object.assign(env, {
    WAREHOUSE_URL: warehouseUrl,
    SHOP_DB_URL: shopUrl,
    CDC_SERVER_ID: String(100_000 + Math.floor(Math.random() * 1_000_000_000)),
    LOG_LEVEL: 'warn',
    CI: 'true',
  });
  const cdc = startCli('ingest/cdc/cli.ts', [], env);
  cdc.done.catch(() => undefined);
  try {
    await waitForSnapshot(warehouseUrl, cdc.done);
    const args = [...backfillArgs(size), '--sinks', 'mariadb', '--quiet'];
    if (options.anomaliesManifest) args.push('--anomalies', '--manifest', options.anomaliesManifest);
    await startCli('generator/cli.ts', args, env).done;
  } finally {
    cdc.child.kill('SIGTERM');
    await cdc.done.catch(() => undefined);
  }
  // A fresh process resumes from the committed position and stops at the binlog head.
  await startCli('ingest/cdc/cli.ts', ['--until-idle', '3000'], env).done;
  return { config: landedConfig, drop };
}
