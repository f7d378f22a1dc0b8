/**
 * `npm run demo -- --sources history` end to end, as a person runs it (the CLI as a process), in
 * a warehouse database of its own: a shop with no live database brings its history (the sample
 * export, Velo Bern 2011); ingest:files lands it, dbt builds the marts from it, the gate checks
 * the files source only, and the report is mailed for the export's last day. No generator, CDC
 * or Kafka runs. Three to seven minutes on the shared 2-core machine, by its load (a full dbt
 * build, two gate runs).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../lib/root.ts';
import { uniqueSuffix } from '../helpers/config.ts';
import { endpointEnv, testEndpoints } from '../helpers/services.ts';

const database = `demo_history_${uniqueSuffix().replace(/[^a-z0-9_]/g, '_')}`;
const endpoints = testEndpoints();
const postgresUrl = (name: string) => {
  const url = new URL(endpoints.warehouseAdminUrl);
  url.pathname = `/${name}`;
  return url.toString();
};
const env: Record<string, string> = {
  ...endpointEnv(endpoints),
  WAREHOUSE_URL: postgresUrl(database),
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

// The demo recreates an external warehouse database only when it exists and --reset is given.
beforeAll(async () => {
  await query(postgresUrl('postgres'), `create database ${pg.escapeIdentifier(database)}`);
});

afterAll(async () => {
  await query(postgresUrl('postgres'), `drop database if exists ${pg.escapeIdentifier(database)} with (force)`).catch(() => undefined);
});

describe('npm run demo -- --sources history', () => {
  it(
    'lands the sample export, builds the marts from it, gates the files source and mails the report for 30 May 2011',
    { timeout: 900_000 },
    async () => {
      const run = await demo(['--reset', '--sources', 'history']);
      expect(run.stderr + run.stdout.slice(-3000), 'demo output').not.toMatch(/✘/);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('sources: history export');
      expect(run.stdout).not.toMatch(/CDC ingestor|Generating the shop|clickstream \(Kafka/);
      expect(run.stdout).toMatch(/^ {2}raw +PASS/m);
      expect(run.stdout).toMatch(/^ {2}marts +PASS/m);
      expect(run.stdout).toContain('Morning report for 2011-05-30');

      const warehouse = env.WAREHOUSE_URL!;
      const files = await query<{ source_name: string; rows_landed: string; rows_dead: string }>(
        warehouse,
        'select source_name, rows_landed::text, rows_dead::text from raw.file_manifest order by source_name',
      );
      expect(files).toEqual([
        { source_name: 'history_customers', rows_landed: '6', rows_dead: '0' },
        { source_name: 'history_order_lines', rows_landed: '12', rows_dead: '0' },
        { source_name: 'history_orders', rows_landed: '10', rows_dead: '0' },
      ]);
      // The figures of the sample worked out by hand (docs/history.md), from the demo's build.
      expect(
        await query(warehouse, 'select sum(gross_revenue)::text as gross, sum(net_revenue)::text as net from marts.revenue_daily'),
      ).toEqual([{ gross: '4852.15', net: '4413.15' }]);
      expect(await query(warehouse, 'select count(*)::int as n from marts.ops_staging_rejects')).toEqual([{ n: 0 }]);
      // The gate checked the files source only: there is no live shop or clickstream.
      const gate = await query<{ sources: { source: string; checked: boolean }[] }>(
        warehouse,
        "select summary -> 'sources' as sources from ops.gate_results where gate = 'raw' order by checked_at desc limit 1",
      );
      expect(Object.fromEntries(gate[0]!.sources.map((s) => [s.source, s.checked]))).toEqual({
        database: false,
        clickstream: false,
        files: true,
        api: false,
      });
      expect(await query(warehouse, "select to_char(business_date, 'YYYY-MM-DD') as day, status from ops.reports_sent")).toEqual([
        { day: '2011-05-30', status: 'sent' },
      ]);
    },
  );
});
