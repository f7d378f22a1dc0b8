/**
 * Brings the local Superset's metadata up to date: schema migrations and roles (first run or a
 * new Superset version), the admin user, the warehouse connection as bi_reader and the bundle.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import pg from 'pg';

import type { Config } from '../../lib/config/index.ts';
import { roleUrl } from '../../lib/config/index.ts';
import { ServiceUnavailableError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { runProcess } from '../../lib/process.ts';
import { BUNDLE_DIR, PROVISION_SCRIPT, supersetEnv, supersetPaths } from './paths.ts';
import { CONSTRAINTS_FILE, venvPaths } from './venv.ts';

type ProvisionConfig = Config;

export interface ImportedDashboard {
  id: number;
  slug: string;
  title: string;
  charts: number;
}

export interface ProvisionResult {
  zip: string;
  files: number;
  dashboards: ImportedDashboard[];
}

/** The bi_reader URL in the form Superset's SQLAlchemy expects. */
export function supersetWarehouseUri(config: Parameters<typeof roleUrl>[0]): string {
  return roleUrl(config, 'bi_reader').replace(/^postgres(ql)?:\/\//, 'postgresql+psycopg2://');
}

/** Fails early, naming the fix, when the warehouse is unreachable as bi_reader. Returns the mart count. */
export async function checkWarehouse(config: ProvisionConfig): Promise<number> {
  const client = new pg.Client({
    connectionString: roleUrl(config, 'bi_reader'),
    application_name: 'shopflow-dashboards',
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ n: string }>(`select count(*) as n from information_schema.tables where table_schema = 'marts'`);
    return Number(result.rows[0]?.n ?? 0);
  } catch (error) {
    throw new ServiceUnavailableError(
      `cannot reach the warehouse as bi_reader (${new URL(config.WAREHOUSE_URL).host}): start it with \`npm run services:up\` and build the marts with \`npm run demo\`, or set WAREHOUSE_URL`,
      error,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Changes whenever the pinned Superset install changes, so its schema migrations run again. */
async function metadataStamp(config: ProvisionConfig): Promise<string> {
  const constraints = join(config.rootDir, CONSTRAINTS_FILE);
  const content = existsSync(constraints) ? await readFile(constraints) : Buffer.from('unpinned');
  return createHash('sha256').update(content).digest('hex');
}

function lineLogger(logger: Logger, step: string) {
  return (line: string) => {
    if (line.trim()) logger.debug({ step }, line.slice(0, 400));
  };
}

/** `superset db upgrade` + `superset init`, only when the metadata database is new or Superset changed. */
export async function ensureMetadata(config: ProvisionConfig, logger: Logger): Promise<boolean> {
  const paths = supersetPaths(config);
  await mkdir(paths.home, { recursive: true });
  const stampFile = join(paths.home, '.metadata-stamp');
  const stamp = await metadataStamp(config);
  if (existsSync(join(paths.home, 'superset.db')) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return false;
  const venv = venvPaths(config);
  const env = supersetEnv(config);
  logger.info('creating / upgrading the Superset metadata database');
  await runProcess(venv.bin('superset'), ['db', 'upgrade'], {
    env,
    cwd: paths.home,
    timeoutMs: 600_000,
    onLine: lineLogger(logger, 'db upgrade'),
  });
  logger.info('setting up Superset roles and permissions');
  await runProcess(venv.bin('superset'), ['init'], { env, cwd: paths.home, timeoutMs: 600_000, onLine: lineLogger(logger, 'init') });
  await writeFile(stampFile, stamp);
  return true;
}

/** Admin user, warehouse connection and bundle import (overwrite by uuid) in one Superset start. */
export async function importBundle(config: ProvisionConfig, logger: Logger, bundleDir = BUNDLE_DIR): Promise<ProvisionResult> {
  const paths = supersetPaths(config);
  const venv = venvPaths(config);
  const env = {
    ...supersetEnv(config),
    SHOPFLOW_SUPERSET_ADMIN_USER: config.SUPERSET_ADMIN_USER,
    SHOPFLOW_SUPERSET_ADMIN_PASSWORD: config.SUPERSET_ADMIN_PASSWORD,
    SHOPFLOW_SUPERSET_WAREHOUSE_URI: supersetWarehouseUri(config),
  };
  let resultLine = '';
  const errors: string[] = [];
  try {
    await runProcess(venv.python, [PROVISION_SCRIPT, bundleDir, paths.bundleZip], {
      env,
      cwd: paths.home,
      timeoutMs: 600_000,
      tailLines: 30,
      onLine: (line, stream) => {
        if (stream === 'stdout' && line.startsWith('{')) resultLine = line;
        else if (line.startsWith('{"error"')) errors.push(line);
        else if (line.trim()) logger.debug({ step: 'import' }, line.slice(0, 400));
      },
    });
  } catch (error) {
    const detail = errors.length > 0 ? `\n${errors.join('\n')}` : '';
    throw new ShopflowError('SHOPFLOW_DASHBOARDS_IMPORT', `importing the dashboard bundle from ${bundleDir} failed${detail}`, {
      cause: error,
    });
  }
  return JSON.parse(resultLine) as ProvisionResult;
}
