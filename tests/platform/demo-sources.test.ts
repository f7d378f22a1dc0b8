/**
 * `npm run demo -- --sources postgres,files,api` end to end on a small world, as a person runs
 * it (the CLI as a process), in databases of its own: the shop goes to Postgres and is captured
 * by logical replication, a supplier price list of its products lands from a folder, the
 * generator's shop API is pulled, dbt builds, the gate checks every named source and the report
 * is mailed. The demo exits 0 only when the gate passed. About four minutes on a loaded 2-core
 * machine (dbt build, two gate runs): the clickstream is left out, the default demo's path.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../lib/root.ts';
import { uniqueSuffix } from '../helpers/config.ts';
import { endpointEnv, testEndpoints } from '../helpers/services.ts';

const suffix = uniqueSuffix().replace(/[^a-z0-9_]/g, '_');
const database = `demo_sources_${suffix}`;
const slot = `demo_sources_${suffix}`;

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const endpoints = testEndpoints();
const env: Record<string, string> = {
  ...endpointEnv(endpoints),
  WAREHOUSE_URL: withDatabase(endpoints.warehouseAdminUrl, database),
  SHOP_DB_URL: withDatabase(endpoints.shopDbAdminUrl, database),
  SHOP_PG_URL: withDatabase(endpoints.shopPgAdminUrl, database),
  PG_CDC_SLOT: slot,
  KAFKA_TOPIC: `demo.sources.${suffix}`,
  LOG_LEVEL: 'warn',
  CI: 'true',
};

function demo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'scripts', 'demo.ts'), ...args], {
      cwd: ROOT_DIR,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

// The demo waits for external services to answer on their databases before it recreates them.
beforeAll(async () => {
  for (const url of [endpoints.shopPgAdminUrl, endpoints.warehouseAdminUrl])
    await query(withDatabase(url, 'postgres'), `create database ${pg.escapeIdentifier(database)}`);
  const maria = await mysql.createConnection({ uri: endpoints.shopDbAdminUrl });
  maria.on('error', () => undefined);
  await maria.query(`CREATE DATABASE \`${database}\``);
  await maria.end();
});

afterAll(async () => {
  // The slot before its database: a database holding a slot cannot be dropped.
  await query(
    withDatabase(endpoints.shopPgAdminUrl, 'postgres'),
    `select pg_drop_replication_slot('${slot}') from pg_replication_slots where slot_name = '${slot}'`,
  ).catch(() => undefined);
  for (const url of [endpoints.shopPgAdminUrl, endpoints.warehouseAdminUrl])
    await query(withDatabase(url, 'postgres'), `drop database if exists ${pg.escapeIdentifier(database)} with (force)`).catch(
      () => undefined,
    );
  const maria = await mysql.createConnection({ uri: endpoints.shopDbAdminUrl });
  maria.on('error', () => undefined);
  await maria.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
  await maria.end();
});

describe('npm run demo -- --sources postgres,files,api', () => {
  it('lands every named source through its own ingestor, gates each and mails the report: exit 0', { timeout: 900_000 }, async () => {
    const run = await demo([
      '--reset',
      '--sources',
      'postgres,files,api',
      '--customers',
      '60',
      '--products',
      '15',
      '--orders',
      '150',
      '--days',
      '21',
    ]);
    expect(run.stderr + run.stdout.slice(-3000), 'demo output').not.toMatch(/✘/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}raw +PASS/m);
    expect(run.stdout).toMatch(/^ {2}marts +PASS/m);

    const warehouse = env.WAREHOUSE_URL!;
    // The orders came through the replication slot: an LSN, not a binlog file, is their coordinate.
    const orders = await query<{ n: number; lsn: number }>(
      warehouse,
      `select count(*)::int as n, count(*) filter (where binlog_file ~ '^[0-9A-F]+/[0-9A-F]+$')::int as lsn from raw_shop.orders`,
    );
    expect(orders[0]!.n).toBeGreaterThan(0);
    expect(orders[0]!.lsn).toBe(orders[0]!.n);
    const positions = await query<{ source_name: string }>(warehouse, 'select source_name from ingest.cdc_positions');
    expect(positions.map((p) => p.source_name)).toEqual([`postgres:${database}:${slot}`]);
    // One price per product, none dead-lettered.
    const files = await query<{ rows_landed: string; rows_dead: string }>(
      warehouse,
      'select rows_landed::text, rows_dead::text from raw.file_manifest',
    );
    expect(files).toEqual([{ rows_landed: '15', rows_dead: '0' }]);
    const api = await query<{ source_name: string; n: number }>(
      warehouse,
      'select source_name, count(*)::int as n from raw.api_records group by source_name order by source_name',
    );
    expect(api.map((a) => a.source_name)).toEqual(['shop_api_orders', 'shop_api_products']);
    expect(api.find((a) => a.source_name === 'shop_api_products')?.n).toBe(15);
    // The gate checked exactly the named sources.
    const gate = await query<{ sources: { source: string; checked: boolean }[] }>(
      warehouse,
      "select summary -> 'sources' as sources from ops.gate_results where gate = 'raw' order by checked_at desc limit 1",
    );
    expect(Object.fromEntries(gate[0]!.sources.map((s) => [s.source, s.checked]))).toEqual({
      database: true,
      clickstream: false,
      files: true,
      api: true,
    });
  });
});
