/**
 * The lake's SQL endpoint: Spark's Thrift JDBC/ODBC server (lakehouse/shopflow_lake/sql_server.py)
 * as an application on the Spark cluster, for dbt's `lakehouse` target (docs/dbt.md "Two
 * targets"). Only with LAKEHOUSE_ENABLED and the local cluster; with SPARK_MASTER set (a real
 * cluster) the endpoint is the team's own and only SPARK_SQL_HOST:SPARK_SQL_PORT is checked.
 *
 * Its executors come and go with dbt's queries (dynamic allocation), so an idle endpoint holds
 * none of the cluster's slots and the landing jobs keep theirs.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { childEnv, type Config } from '../../lib/config/index.ts';
import { S3_CLIENT_ENV } from '../../lib/lakehouse/jobs.ts';
import { installedLakehouse } from '../../lib/lakehouse/paths.ts';
import { lakeSettings } from '../../lib/lakehouse/settings.ts';
import {
  assertPortFree,
  claimPidFile,
  ensureDir,
  portAnswers,
  processesWithArgument,
  recordedPid,
  spawnDetached,
  stopAllWithArgument,
  stopProcess,
  waitUntilReady,
  withStartLock,
} from './process.ts';
import { SPARK_MASTER_UI_PORT } from './spark.ts';
import type { LocalService, ServiceStatus } from './types.ts';

const execFileAsync = promisify(execFile);

/**
 * Every client session of the endpoint starts with `USE default` (PyHive, and so dbt-spark, send
 * it), which fails while the lake has no namespace `default`. This statement, sent through the
 * same client dbt uses (PyHive, in dbt's venv) on a session that starts in the catalog itself
 * (`USE lake`), creates it; it doubles as the readiness check: it answers once the endpoint
 * runs statements and reaches the catalog (Postgres) too.
 */
const PREPARE = `
import sys
from pyhive import hive
conn = hive.connect(host=sys.argv[1], port=int(sys.argv[2]), username="transformer", database="lake")
cursor = conn.cursor()
cursor.execute("create namespace if not exists lake.default")
conn.close()
`;

export async function prepareSqlEndpoint(config: Config, port = config.SPARK_SQL_PORT): Promise<boolean> {
  const python = join(resolve(config.rootDir, config.PYTHON_VENV), 'bin', 'python');
  try {
    await execFileAsync(python, ['-c', PREPARE, config.SPARK_SQL_HOST, String(port)], { timeout: 60_000, env: childEnv({}) });
    return true;
  } catch {
    return false;
  }
}

function layout(place: SqlEndpointPlace) {
  const dir = place.dir;
  // The properties file is one argument of the server's command line: it marks the process as ours.
  return { dir, pidFile: join(dir, 'spark-sql.pid'), logFile: join(dir, 'spark-sql.log'), properties: join(dir, 'spark-sql.conf') };
}

async function masterAlive(uiPort: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${uiPort}/json/`, { signal: AbortSignal.timeout(2000) });
    return response.ok && ((await response.json()) as { status?: string }).status === 'ALIVE';
  } catch {
    return false;
  }
}

/** Where an endpoint runs: the service's (defaults) or a test's own (port, folder, table location). */
export interface SqlEndpointPlace {
  dir: string;
  port: number;
  /** Folder of the bucket its new tables go under (default `warehouse`, as the jobs'). */
  warehousePrefix?: string;
  /** The Spark master's web UI, asked whether the master is up (default the local cluster's). */
  masterUiPort?: number;
}

function servicePlace(config: Config): SqlEndpointPlace {
  return { dir: join(config.dataDir, 'spark-sql'), port: config.SPARK_SQL_PORT };
}

/** The settings sql_server.py starts from: a lake job's (same catalog, cluster, jars) with the endpoint's heap and cores. */
export function sqlServerSettings(config: Config, place: SqlEndpointPlace = servicePlace(config)): Record<string, unknown> {
  const paths = installedLakehouse(config);
  const settings = lakeSettings(config, paths, {
    name: 'sql',
    checkpointDir: join(place.dir, 'unused'),
    maxCores: config.SPARK_SQL_CORES,
    ...(place.warehousePrefix ? { warehousePrefix: place.warehousePrefix } : {}),
  });
  return {
    ...settings,
    driverMemory: config.SPARK_SQL_MEMORY,
    sqlServer: { host: config.SPARK_SQL_HOST, port: place.port, dir: place.dir, sparkHome: paths.sparkHome },
  };
}

/**
 * Starts an endpoint and waits until it runs statements; the catalog is the one of
 * config.WAREHOUSE_URL's database. Resolves with its pid (a process group of its own).
 */
export async function startSqlEndpoint(
  config: Config,
  place: SqlEndpointPlace,
  logFile: string,
  onSpawned: (pid: number) => void = () => undefined,
): Promise<number> {
  // services:up starts the cluster beside this one: the application needs its master.
  await waitUntilReady(() => masterAlive(place.masterUiPort ?? SPARK_MASTER_UI_PORT), {
    service: 'spark sql endpoint (waiting for the spark master)',
    timeoutMs: 120_000,
    logFile,
    intervalMs: 500,
  });
  const paths = installedLakehouse(config);
  ensureDir(place.dir);
  const child = await spawnDetached(paths.python, ['-m', 'shopflow_lake.sql_server'], logFile, {
    cwd: place.dir,
    env: childEnv({
      SHOPFLOW_LAKE_SETTINGS: JSON.stringify(sqlServerSettings(config, place)),
      PYTHONPATH: paths.jobsDir,
      SPARK_HOME: paths.sparkHome,
      SPARK_SCALA_VERSION: '2.13',
      SPARK_LOCAL_IP: '127.0.0.1',
      SPARK_LOCAL_DIRS: ensureDir(join(place.dir, 'tmp')),
      ...S3_CLIENT_ENV,
    }),
  });
  // Recorded before the wait, so a start that fails still leaves something to stop.
  onSpawned(child.pid);
  // The Thrift port opens once the application has its session; the catalog answers once Postgres does.
  await waitUntilReady(
    async () => (await portAnswers(place.port, config.SPARK_SQL_HOST)) && (await prepareSqlEndpoint(config, place.port)),
    {
      service: 'spark sql endpoint',
      timeoutMs: 300_000,
      intervalMs: 2000,
      logFile,
      exited: child.exited,
    },
  );
  return child.pid;
}

/**
 * Starts the endpoint as a service of `place` (pid file and log in its folder), or finds it up.
 * Serialised by a lock in that folder, and never leaves a server of the folder without its pid
 * file: a live one the pid file names is reused, any other is stopped first.
 */
export function startSqlService(config: Config, place: SqlEndpointPlace = servicePlace(config)): Promise<string> {
  const files = layout(place);
  return withStartLock(files.dir, async () => {
    const live = recordedPid(files, files.properties);
    const strays = processesWithArgument(files.properties).filter((pid) => pid !== live);
    const stopped = await Promise.all(strays.map(async (pid) => `stray ${pid} ${await stopProcess(pid, 'SIGTERM', 30_000)}`));
    const note = stopped.length > 0 ? ` (${stopped.join(', ')})` : '';
    if (live) return `ok, already up${note}`;
    await assertPortFree('spark sql endpoint', place.port, 'SPARK_MASTER');
    const started = Date.now();
    const pid = await startSqlEndpoint(config, place, files.logFile, (spawned) => claimPidFile(files, files.properties, spawned));
    return `started (pid ${pid}) at ${config.SPARK_SQL_HOST}:${place.port} in ${((Date.now() - started) / 1000).toFixed(1)} s${note}`;
  });
}

/** Stops the endpoint of `place`: the server its pid file names and any other of that folder. */
export async function stopSqlService(config: Config, place: SqlEndpointPlace = servicePlace(config)): Promise<string> {
  const files = layout(place);
  const stopped = await stopAllWithArgument(files, files.properties, 30_000);
  return stopped.length === 0 ? 'not running' : stopped.join(', ');
}

export const sparkSqlService: LocalService = {
  name: 'spark-sql',
  externalVariable: 'SPARK_MASTER',
  async up(config) {
    if (config.managed.spark) return { message: await startSqlService(config) };
    await waitUntilReady(() => portAnswers(config.SPARK_SQL_PORT, config.SPARK_SQL_HOST), {
      service: 'spark sql endpoint (external, SPARK_SQL_HOST)',
      timeoutMs: 15_000,
      logFile: '(external service: check SPARK_SQL_HOST and SPARK_SQL_PORT)',
    });
    return { message: 'external, reachable' };
  },
  async down(config) {
    if (!config.managed.spark) return 'external (SPARK_MASTER), left alone';
    return stopSqlService(config);
  },
  async status(config): Promise<ServiceStatus> {
    const address = `${config.SPARK_SQL_HOST}:${config.SPARK_SQL_PORT}`;
    const answers = await portAnswers(config.SPARK_SQL_PORT, config.SPARK_SQL_HOST);
    if (!config.managed.spark)
      return { service: 'spark-sql', mode: 'external', pid: undefined, address, state: answers ? 'up' : 'unreachable' };
    const files = layout(servicePlace(config));
    const pid = recordedPid(files, files.properties);
    if (!pid) return { service: 'spark-sql', mode: 'managed', pid, address, state: answers ? 'port taken' : 'down' };
    return { service: 'spark-sql', mode: 'managed', pid, address, state: answers ? 'up' : 'starting' };
  },
};
