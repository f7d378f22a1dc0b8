/**
 * A fresh, fully migrated warehouse database per test file, cloned from a template database
 * (`CREATE DATABASE ... TEMPLATE`), which takes milliseconds instead of replaying every
 * migration. The template's name carries a hash of the migration files, so changing a
 * migration builds a new template and never reuses a stale one.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { ROOT_DIR, type Config } from '../../lib/config/index.ts';
import { migrate } from '../../lib/warehouse/migrate.ts';
import { testConfig, sanitizeLabel, uniqueSuffix } from './config.ts';
import { hasFailed, reportKept } from './failures.ts';
import { testEndpoints } from './services.ts';

export interface TestWarehouse {
  database: string;
  /** Superuser URL of this database (for setup and assertions; components use roleUrl(config, ...)). */
  adminUrl: string;
  /** WAREHOUSE_URL points at this database. */
  config: Config;
  /** Drops the database, unless a test in this file failed (then it is kept and its name printed). */
  drop(): Promise<void>;
}

const MIGRATIONS_DIR = join(ROOT_DIR, 'lib', 'warehouse', 'migrations');
const TEMPLATE_LOCK = 727_100_010;

export function templateName(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(MIGRATIONS_DIR, file)))
      .update('\0');
  }
  return `shopflow_test_template_${hash.digest('hex').slice(0, 12)}`;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withClient<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, application_name: 'shopflow-tests' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Retries while another session still holds the source database open (SQLSTATE 55006). */
async function retryWhileInUse(work: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await work();
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

/** Build the template once per migration set, under an advisory lock so parallel workers wait for one builder. */
async function ensureTemplate(serverUrl: string, config: Config): Promise<string> {
  const template = templateName();
  await withClient(databaseUrl(serverUrl, 'postgres'), async (client) => {
    await client.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const exists = await client.query('select 1 from pg_database where datname = $1', [template]);
      if (exists.rowCount) return;
      // Migrate under a temporary name and rename when complete: a half-built template is never visible.
      const building = `${template.slice(0, 40)}_build_${process.pid}`;
      await client.query(`drop database if exists ${pg.escapeIdentifier(building)} with (force)`);
      await client.query(`create database ${pg.escapeIdentifier(building)}`);
      await migrate({ ...config, WAREHOUSE_URL: databaseUrl(serverUrl, building) });
      await retryWhileInUse(() =>
        client.query(`alter database ${pg.escapeIdentifier(building)} rename to ${pg.escapeIdentifier(template)}`),
      );
      await client.query(`alter database ${pg.escapeIdentifier(template)} with is_template true`);
    } finally {
      await client.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK]).catch(() => undefined);
    }
  });
  return template;
}

export async function createTestWarehouse(label: string): Promise<TestWarehouse> {
  const serverUrl = testEndpoints().warehouseAdminUrl;
  const baseConfig = testConfig();
  const template = await ensureTemplate(serverUrl, baseConfig);
  const database = `t_${sanitizeLabel(label, 40)}_${uniqueSuffix()}`;
  await withClient(databaseUrl(serverUrl, 'postgres'), (client) =>
    retryWhileInUse(() => client.query(`create database ${pg.escapeIdentifier(database)} template ${pg.escapeIdentifier(template)}`)),
  );
  const adminUrl = databaseUrl(serverUrl, database);
  const config = testConfig({ WAREHOUSE_URL: adminUrl });
  // Database-level grants (connect, create for dbt) are not copied from a template; the
  // migration runner re-applies them, finding every migration already recorded.
  await migrate(config);
  let dropped = false;
  return {
    database,
    adminUrl,
    config,
    async drop() {
      if (dropped) return;
      dropped = true;
      if (hasFailed()) {
        reportKept(`warehouse database ${database}`, `psql ${adminUrl}`);
        return;
      }
      await withClient(databaseUrl(serverUrl, 'postgres'), (client) =>
        client.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`),
      );
    },
  };
}
