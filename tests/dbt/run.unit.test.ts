/**
 * runDbt's profile environment: dbt must connect as role transformer to the host, port and
 * database of WAREHOUSE_URL, whatever user the URL names, with telemetry off.
 */
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../lib/config/index.ts';
import { dbtEnv, dbtExecutable, dbtProfileEnv, DBT_PROJECT_DIR } from '../../lib/dbt/run.ts';

describe('dbt profile environment', () => {
  it('derives host, port and database from WAREHOUSE_URL and uses the transformer role', () => {
    const env = dbtProfileEnv({
      WAREHOUSE_URL: 'postgres://postgres:secret@db.internal:6543/analytics?sslmode=require',
      WAREHOUSE_TRANSFORMER_PASSWORD: 'tp',
    });
    expect(env).toMatchObject({
      SHOPFLOW_PG_HOST: 'db.internal',
      SHOPFLOW_PG_PORT: '6543',
      SHOPFLOW_PG_DATABASE: 'analytics',
      SHOPFLOW_PG_USER: 'transformer',
      SHOPFLOW_PG_PASSWORD: 'tp',
      SHOPFLOW_PG_SSLMODE: 'require',
    });
    expect(Object.values(env)).not.toContain('secret');
  });

  it('defaults the port and decodes the database name', () => {
    const env = dbtProfileEnv({ WAREHOUSE_URL: 'postgresql://u@localhost/my%20db', WAREHOUSE_TRANSFORMER_PASSWORD: 'x' });
    expect(env.SHOPFLOW_PG_PORT).toBe('5432');
    expect(env.SHOPFLOW_PG_DATABASE).toBe('my db');
  });

  it('builds an explicit child environment: telemetry off, profile in dbt/, per-run paths', () => {
    const config = loadConfig({ WAREHOUSE_URL: 'postgres://postgres:pw@127.0.0.1:54329/shopflow' });
    const env = dbtEnv(config, { targetPath: '/tmp/t', logPath: '/tmp/l', threads: 3 });
    expect(env.DO_NOT_TRACK).toBe('1');
    expect(env.DBT_PROFILES_DIR).toBe(DBT_PROJECT_DIR);
    expect(env.DBT_TARGET_PATH).toBe('/tmp/t');
    expect(env.DBT_LOG_PATH).toBe('/tmp/l');
    expect(env.SHOPFLOW_DBT_THREADS).toBe('3');
    expect(env.SHOPFLOW_PG_PASSWORD).toBe('transformer_local');
    // The exposures' urls: the configured Superset and the folder the report is saved in.
    expect(env.SUPERSET_PORT).toBe(String(config.SUPERSET_PORT));
    expect(env.SHOPFLOW_REPORTS_DIR).toBe(`${config.rootDir}/out/reports`);
    // Nothing ambient leaks in beyond the small allow-list of childEnv.
    expect(Object.keys(env).filter((k) => k.startsWith('WAREHOUSE_'))).toEqual([]);
  });

  it('finds dbt in the configured venv', () => {
    const config = loadConfig({ PYTHON_VENV: '/opt/venv' });
    expect(dbtExecutable(config)).toBe('/opt/venv/bin/dbt');
  });
});
