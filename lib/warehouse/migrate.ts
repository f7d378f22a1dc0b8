/**
 * Applies lib/warehouse/migrations/*.sql in order, once each, under an advisory lock, then
 * applies the component roles' passwords, database grants and limits (./roles.ts). Idempotent; safe to run from
 * several processes at once.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import pg from 'pg';

import type { Config } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { ROOT_DIR } from '../root.ts';
import { applyRoleSettings, type RoleSettingsConfig } from './roles.ts';

export type MigrateConfig = Pick<Config, 'WAREHOUSE_URL'> & RoleSettingsConfig;

export const MIGRATIONS_DIR = join(ROOT_DIR, 'lib', 'warehouse', 'migrations');
const LOCK_KEY = 727_100_001;
const SERVER_LOCK_KEY = 727_100_002;

export async function ensureDatabase(adminUrl: string): Promise<void> {
  const url = new URL(adminUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), application_name: 'shopflow-migrate' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) {
      await client.query(`create database ${pg.escapeIdentifier(database)}`).catch((error: unknown) => {
        // Two processes racing to create it: the loser sees duplicate_database, which is fine.
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

export interface MigrateOptions {
  logger?: Logger;
  adminUrl?: string;
  /**
   * Apply only the migrations whose file name sorts before this one (e.g. '0150'): a warehouse
   * as an older release left it, for tests of the upgrade a later migration performs.
   */
  before?: string;
}

export async function migrate(config: MigrateConfig, options: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const adminUrl = options.adminUrl ?? config.WAREHOUSE_URL;
  await ensureDatabase(adminUrl);
  const releaseServerLock = await lockServer(adminUrl, options.logger);
  try {
    return await migrateLocked(config, adminUrl, options);
  } finally {
    await releaseServerLock();
  }
}

/**
 * Roles are shared by every database of a server, and migrations create and alter them, but an
 * advisory lock only covers the database it is taken in. Migrating two databases of one server
 * at once (parallel test files, ingestors starting together) then collides on the same role
 * rows ("tuple concurrently updated", duplicate role). So the whole run also holds a lock taken
 * in the server's maintenance database, which every migration of that server agrees on.
 */
async function lockServer(adminUrl: string, logger: Logger | undefined): Promise<() => Promise<void>> {
  const url = new URL(adminUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), application_name: 'shopflow-migrate-lock' });
  client.on('error', (err) => logger?.warn({ err }, 'migration lock client error'));
  try {
    await client.connect();
  } catch (error) {
    // No `postgres` database (or no right to it): fall back to the per-database lock alone.
    logger?.warn({ err: error }, 'cannot lock the server for migrations; concurrent migrations of other databases may collide');
    await client.end().catch(() => undefined);
    return async () => undefined;
  }
  await client.query('select pg_advisory_lock($1)', [SERVER_LOCK_KEY]);
  return async () => {
    await client.query('select pg_advisory_unlock($1)', [SERVER_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  };
}

async function migrateLocked(config: MigrateConfig, adminUrl: string, options: MigrateOptions): Promise<{ applied: string[] }> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'shopflow-migrate' });
  client.on('error', (err) => options.logger?.warn({ err }, 'migration client error'));
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`create schema if not exists ops;
      create table if not exists ops.schema_migrations (name text primary key, applied_at timestamptz not null default now())`);
    const done = new Set((await client.query<{ name: string }>('select name from ops.schema_migrations')).rows.map((r) => r.name));
    const files = (await readdir(MIGRATIONS_DIR))
      .filter((f) => f.endsWith('.sql') && (options.before === undefined || f < options.before))
      .sort();
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(join(MIGRATIONS_DIR, file), 'utf8');
      await client.query('begin');
      try {
        await client.query(sql);
        await client.query('insert into ops.schema_migrations (name) values ($1)', [file]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file);
      options.logger?.info({ migration: file }, 'migration applied');
    }
    const database = decodeURIComponent(new URL(adminUrl).pathname.slice(1)) || 'postgres';
    await applyRoleSettings(client, database, config);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
  return { applied };
}
