/**
 * The shop database on Postgres (SHOP_PG_URL): a second local cluster, separate from the
 * warehouse, because logical replication needs `wal_level=logical` and the warehouse runs with
 * `wal_level=minimal` (its bulk loads skip WAL). Same binaries and start-up as postgres.ts; small
 * memory settings, since the shop is small and this machine is shared. With SHOP_PG_URL set, the
 * server is external and only the shop database is created when missing.
 */
import { chownSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import pg from 'pg';

import type { Config } from '../../lib/config/index.ts';
import { binaries, canQuery, initialise, makeReachable, postgresIds } from './postgres.ts';
import {
  assertPortFree,
  ensureDir,
  ourRunningPid,
  portAnswers,
  removePidFile,
  servicePaths,
  spawnDetached,
  stopProcess,
  waitUntilReady,
  writePidFile,
} from './process.ts';
import type { LocalService, ServiceStatus } from './types.ts';

const NAME = 'shop-postgres';

function endpoint(config: Config): { host: string; port: number; user: string; password: string; database: string } {
  const url = new URL(config.SHOP_PG_URL);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres',
  };
}

function adminUrl(config: Config): string {
  const url = new URL(config.SHOP_PG_URL);
  url.pathname = '/postgres';
  return url.toString();
}

function dataDirOf(config: Config): string {
  return join(config.dataDir, NAME, 'data');
}

/** The settings logical replication needs, kept small: a few slots, and little memory. */
export const SHOP_POSTGRES_SETTINGS: readonly string[] = [
  'wal_level=logical',
  'max_replication_slots=20',
  'max_wal_senders=20',
  'max_connections=100',
  'shared_buffers=64MB',
  'max_wal_size=1GB',
  'jit=off',
  'log_checkpoints=off',
  'log_min_messages=warning',
];

async function start(config: Config): Promise<string> {
  const paths = servicePaths(config.dataDir, NAME);
  const pgdata = dataDirOf(config);
  const socketDir = join(paths.dir, 'run');
  const { port, user, password } = endpoint(config);
  const running = ourRunningPid(paths, pgdata);
  if (running && (await canQuery(adminUrl(config)).catch(() => false))) return `ok, already up (pid ${running})`;
  if (!running) await assertPortFree(NAME, port, 'SHOP_PG_URL');
  ensureDir(paths.dir);
  ensureDir(socketDir);
  const started = Date.now();
  let pid = running;
  let exited: (() => string | undefined) | undefined;
  if (!pid) {
    if (!existsSync(join(pgdata, 'PG_VERSION'))) await initialise(pgdata, paths.dir, paths.logFile, user, password);
    const owner = postgresIds();
    if (owner) {
      makeReachable(pgdata, paths.logFile);
      chownSync(socketDir, owner.uid, owner.gid);
    }
    const { postgres } = await binaries();
    const settings = SHOP_POSTGRES_SETTINGS.flatMap((s) => ['-c', s]);
    const spawned = await spawnDetached(
      postgres,
      ['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir}`, ...settings],
      paths.logFile,
      { ...owner, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    pid = spawned.pid;
    exited = spawned.exited;
    writePidFile(paths, pid);
  }
  await waitUntilReady(() => canQuery(adminUrl(config)), { service: NAME, timeoutMs: 60_000, logFile: paths.logFile, exited });
  return `started (pid ${pid}, port ${port}) in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

/** CREATE DATABASE <shop> when it does not exist yet (the generator creates the tables). */
async function ensureShopDatabase(config: Config): Promise<boolean> {
  const { database } = endpoint(config);
  const client = new pg.Client({ connectionString: adminUrl(config), application_name: 'shopflow-services' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 1) return false;
    await client.query(`create database ${pg.escapeIdentifier(database)}`);
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const shopPostgresService: LocalService = {
  name: NAME,
  externalVariable: 'SHOP_PG_URL',
  async up(config) {
    let message: string;
    if (config.managed.shopPostgres) {
      message = await start(config);
    } else {
      await waitUntilReady(() => canQuery(adminUrl(config)), {
        service: `${NAME} (external, SHOP_PG_URL)`,
        timeoutMs: 15_000,
        logFile: '(external service: check the server named by SHOP_PG_URL)',
      });
      message = 'external, reachable';
    }
    const created = await ensureShopDatabase(config);
    return { message: `${message}${created ? `; created database ${endpoint(config).database}` : ''}` };
  },
  async down(config) {
    if (!config.managed.shopPostgres) return 'external (SHOP_PG_URL), left alone';
    const paths = servicePaths(config.dataDir, NAME);
    const pid = ourRunningPid(paths, dataDirOf(config));
    if (!pid) {
      removePidFile(paths);
      return 'not running';
    }
    const how = await stopProcess(pid, 'SIGINT', 30_000);
    removePidFile(paths);
    return `${how} (pid ${pid})`;
  },
  async status(config): Promise<ServiceStatus> {
    const { host, port } = endpoint(config);
    const address = `${host}:${port}`;
    if (!config.managed.shopPostgres) {
      const ok = await canQuery(adminUrl(config)).catch(() => false);
      return { service: NAME, mode: 'external', pid: undefined, address, state: ok ? 'up' : 'unreachable' };
    }
    const paths = servicePaths(config.dataDir, NAME);
    const pid = ourRunningPid(paths, dataDirOf(config));
    if (!pid) return { service: NAME, mode: 'managed', pid, address, state: (await portAnswers(port)) ? 'port taken' : 'down' };
    const ok = await canQuery(adminUrl(config)).catch(() => false);
    return { service: NAME, mode: 'managed', pid, address, state: ok ? 'up' : 'starting' };
  },
};
