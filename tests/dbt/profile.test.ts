/**
 * Plain `dbt` (outside npm) reads the same variables as the rest of ShopFlow: before, its
 * profile read only SHOPFLOW_PG_* (which .env.example never listed), so `dbt build` in dbt/
 * with WAREHOUSE_URL set still went to the default warehouse.
 */
import { spawn } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { dbtExecutable, DBT_PROJECT_DIR } from '../../lib/dbt/run.ts';
import { ROOT_DIR } from '../../lib/root.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';

function dbtDebug(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const executable = dbtExecutable({ PYTHON_VENV: process.env.PYTHON_VENV ?? '.venv', rootDir: ROOT_DIR });
  return new Promise((resolve, reject) => {
    // Only what a user's shell would have: no SHOPFLOW_PG_* anywhere.
    const child = spawn(executable, ['debug', '--profiles-dir', DBT_PROJECT_DIR, '--project-dir', DBT_PROJECT_DIR], {
      cwd: DBT_PROJECT_DIR,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DO_NOT_TRACK: '1', DBT_USE_COLORS: 'false', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('dbt/profiles.yml', () => {
  let warehouse: TestWarehouse;
  beforeAll(async () => {
    warehouse = await createTestWarehouse('dbt_profile');
  });
  afterAll(async () => {
    await warehouse?.drop();
  });

  it('connects where WAREHOUSE_URL points, as transformer with WAREHOUSE_TRANSFORMER_PASSWORD', async () => {
    const url = new URL(warehouse.adminUrl);
    const run = await dbtDebug({
      WAREHOUSE_URL: warehouse.adminUrl,
      WAREHOUSE_TRANSFORMER_PASSWORD: warehouse.config.WAREHOUSE_TRANSFORMER_PASSWORD,
    });
    expect(run.out).toMatch(new RegExp(`database: ${warehouse.database}\\b`));
    expect(run.out).toMatch(new RegExp(`port: ${url.port}\\b`));
    expect(run.out).toMatch(/user: transformer\b/);
    expect(run.out).toContain('All checks passed');
    expect(run.code).toBe(0);
  });

  it('fails the connection test when WAREHOUSE_URL points at a closed port', async () => {
    const run = await dbtDebug({ WAREHOUSE_URL: 'postgres://postgres:x@127.0.0.1:1/nowhere' });
    expect(run.out).toMatch(/port: 1\b/);
    expect(run.out).toMatch(/database: nowhere\b/);
    expect(run.code).not.toBe(0);
  });
});
