/** Where the local Superset keeps its state, derived from ShopFlow's config. */
import { join } from 'node:path';

import type { Config } from '../../lib/config/index.ts';
import { childEnv } from '../../lib/config/index.ts';
import { venvPaths } from './venv.ts';

export const DASHBOARDS_DIR = join(import.meta.dirname, '..');
export const BUNDLE_DIR = join(DASHBOARDS_DIR, 'bundle');
export const SUPERSET_CONFIG_FILE = join(DASHBOARDS_DIR, 'superset', 'superset_config.py');
export const PROVISION_SCRIPT = join(DASHBOARDS_DIR, 'superset', 'provision.py');
/** Name of the Superset database connection the bundle's datasets point at. */
export const WAREHOUSE_DATABASE_NAME = 'ShopFlow warehouse';

export interface SupersetPaths {
  home: string;
  pidFile: string;
  logFile: string;
  bundleZip: string;
}

export function supersetPaths(config: Pick<Config, 'dataDir'>): SupersetPaths {
  const home = join(config.dataDir, 'superset');
  return {
    home,
    pidFile: join(home, 'superset.pid'),
    logFile: join(home, 'superset.log'),
    bundleZip: join(home, 'build', 'shopflow_dashboards.zip'),
  };
}

export function supersetUrl(config: Pick<Config, 'SUPERSET_PORT'>): string {
  return `http://127.0.0.1:${config.SUPERSET_PORT}`;
}

/** The environment every Superset process (CLI, provisioning, web server) runs with. */
export function supersetEnv(config: Pick<Config, 'dataDir' | 'SUPERSET_SECRET_KEY' | 'SUPERSET_VENV' | 'rootDir'>): Record<string, string> {
  const venv = venvPaths(config);
  const env = childEnv({
    FLASK_APP: 'superset',
    SUPERSET_CONFIG_PATH: SUPERSET_CONFIG_FILE,
    SUPERSET_SECRET_KEY: config.SUPERSET_SECRET_KEY,
    SHOPFLOW_SUPERSET_HOME: supersetPaths(config).home,
    PYTHONUNBUFFERED: '1',
    VIRTUAL_ENV: venv.dir,
  });
  // The venv's bin first so gunicorn and superset resolve to this install.
  env.PATH = `${venv.dir}/bin:${env.PATH ?? '/usr/bin:/bin'}`;
  return env;
}
