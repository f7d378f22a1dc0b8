/**
 * Runs the dbt CLI (the project in dbt/) against the warehouse named by a Config: the
 * profile's SHOPFLOW_PG_* variables are derived from WAREHOUSE_URL and the transformer
 * role's password, so dbt connects as `transformer`, never as the superuser. Used by
 * `npm run dbt`, the scheduler and the tests (each pointing at its own database).
 */
import { join, resolve } from 'node:path';

import type { Config } from '../config/index.ts';
import { childEnv } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { runProcess, type ProcessResult } from '../process.ts';
import { ROOT_DIR } from '../root.ts';

export const DBT_PROJECT_DIR = join(ROOT_DIR, 'dbt');

export type DbtConfig = Pick<Config, 'WAREHOUSE_URL' | 'WAREHOUSE_TRANSFORMER_PASSWORD' | 'PYTHON_VENV' | 'rootDir'> &
  Partial<Pick<Config, 'SUPERSET_PORT' | 'SPARK_SQL_HOST' | 'SPARK_SQL_PORT'>>;

/** The profile's targets (dbt/profiles.yml): Postgres, and Spark over the Iceberg lake (docs/dbt.md "Two targets"). */
export type DbtTarget = 'local' | 'lakehouse';

export interface RunDbtOptions {
  /** Where dbt writes manifest/run_results (default dbt/target); give each concurrent run its own. */
  targetPath?: string;
  /** Where dbt writes dbt.log (default dbt/logs). */
  logPath?: string;
  /** dbt vars, passed as --vars JSON (e.g. { as_of_date: '2026-01-31' }). */
  vars?: Record<string, string | number | boolean>;
  /**
   * Scoped data tests check only rows loaded since this time (dbt/macros/test_window.sql), as var
   * test_loaded_since would; passed in the environment so dbt keeps its partial parse.
   */
  testLoadedSince?: string;
  /** dbt threads (default 4). */
  threads?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  logger?: Logger;
  /** Each output line as it arrives (in addition to the logger). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Hold this build lock file while dbt (or anything it left behind) runs; refuse to start while another holds it. */
  lockFile?: string;
  /** Override the dbt executable (default <PYTHON_VENV>/bin/dbt). */
  dbtExecutable?: string;
  /** The profile's target (default: the profile's own, `local` unless SHOPFLOW_DBT_TARGET says otherwise). */
  target?: DbtTarget;
}

/** The dbt executable of the project's Python venv. */
export function dbtExecutable(config: Pick<DbtConfig, 'PYTHON_VENV' | 'rootDir'>): string {
  return join(resolve(config.rootDir, config.PYTHON_VENV), 'bin', 'dbt');
}

/** The environment dbt/profiles.yml reads, derived from the warehouse URL (role transformer). */
export function dbtProfileEnv(
  config: Pick<DbtConfig, 'WAREHOUSE_URL' | 'WAREHOUSE_TRANSFORMER_PASSWORD' | 'SPARK_SQL_HOST' | 'SPARK_SQL_PORT'>,
  threads = 4,
): Record<string, string> {
  const url = new URL(config.WAREHOUSE_URL);
  const sslmode = url.searchParams.get('sslmode');
  return {
    SHOPFLOW_PG_HOST: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    SHOPFLOW_PG_PORT: url.port || '5432',
    SHOPFLOW_PG_DATABASE: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres',
    SHOPFLOW_PG_USER: 'transformer',
    SHOPFLOW_PG_PASSWORD: config.WAREHOUSE_TRANSFORMER_PASSWORD,
    SHOPFLOW_PG_SSLMODE: sslmode ?? 'prefer',
    SHOPFLOW_DBT_THREADS: String(threads),
    // The lakehouse target's Spark SQL endpoint.
    ...(config.SPARK_SQL_HOST !== undefined ? { SHOPFLOW_SPARK_HOST: config.SPARK_SQL_HOST } : {}),
    ...(config.SPARK_SQL_PORT !== undefined ? { SHOPFLOW_SPARK_PORT: String(config.SPARK_SQL_PORT) } : {}),
  };
}

/** The full, explicit child environment for a dbt run: profile, telemetry off, paths. */
export function dbtEnv(
  config: DbtConfig,
  options: Pick<RunDbtOptions, 'targetPath' | 'logPath' | 'threads' | 'testLoadedSince' | 'target'> = {},
): Record<string, string> {
  return childEnv({
    ...dbtProfileEnv(config, options.threads),
    DO_NOT_TRACK: '1',
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    DBT_PROFILES_DIR: DBT_PROJECT_DIR,
    DBT_PROJECT_DIR,
    // Plain lines for logs and tests; dbt colours only when writing to a terminal anyway.
    DBT_USE_COLORS: 'false',
    DBT_PRINTER_WIDTH: '100',
    // Where the exposures live (dbt/models/marts/_exposures.yml builds their urls from these).
    ...(config.SUPERSET_PORT !== undefined ? { SUPERSET_PORT: String(config.SUPERSET_PORT) } : {}),
    SHOPFLOW_REPORTS_DIR: join(config.rootDir, 'out', 'reports'),
    ...(options.targetPath ? { DBT_TARGET_PATH: options.targetPath } : {}),
    ...(options.logPath ? { DBT_LOG_PATH: options.logPath } : {}),
    ...(options.testLoadedSince ? { SHOPFLOW_TEST_LOADED_SINCE: options.testLoadedSince } : {}),
    ...(options.target ? { SHOPFLOW_DBT_TARGET: options.target } : {}),
  });
}

/**
 * Run `dbt <args>` in dbt/. Resolves with the exit code and output tail; rejects with a
 * ProcessFailedError (exit code + tail of the output) when dbt fails.
 */
export function runDbt(config: DbtConfig, args: readonly string[], options: RunDbtOptions = {}): Promise<ProcessResult> {
  const fullArgs = [...args];
  if (options.vars && Object.keys(options.vars).length > 0) fullArgs.push('--vars', JSON.stringify(options.vars));
  const logger = options.logger;
  return runProcess(options.dbtExecutable ?? dbtExecutable(config), fullArgs, {
    cwd: DBT_PROJECT_DIR,
    env: dbtEnv(config, options),
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    tailLines: 80,
    ...(options.lockFile ? { lockFile: options.lockFile } : {}),
    onLine: (line, stream) => {
      if (logger) {
        if (stream === 'stderr') logger.warn({ stream }, line);
        else logger.info(line);
      }
      options.onLine?.(line, stream);
    },
  });
}
