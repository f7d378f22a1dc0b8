/**
 * A fresh, migrated warehouse database per test file for the scheduler tests, on the local
 * Postgres (or WAREHOUSE_URL's server). Kept when a test fails so its ledger can be inspected.
 */
import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { loadConfig, type Config } from '../../../lib/config/index.ts';
import { migrate } from '../../../lib/warehouse/migrate.ts';

export interface SchedulerTestWarehouse {
  database: string;
  adminUrl: string;
  config: Config;
  /** A superuser pool on the test database, for assertions and fault injection. */
  admin: pg.Pool;
  drop(): Promise<void>;
}

export async function createSchedulerWarehouse(label: string, env: Record<string, string> = {}): Promise<SchedulerTestWarehouse> {
  const base = loadConfig();
  const database = `t_sched_${label}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const url = new URL(base.WAREHOUSE_URL);
  url.pathname = `/${database}`;
  const adminUrl = url.toString();
  const config = loadConfig({ WAREHOUSE_URL: adminUrl, LOG_LEVEL: 'warn', SCHEDULER_INGESTORS: 'none', ...env });
  await migrate(config);
  const admin = new pg.Pool({ connectionString: adminUrl, max: 2, application_name: 'shopflow-test' });
  admin.on('error', () => undefined);
  return {
    database,
    adminUrl,
    config,
    admin,
    drop: async () => {
      await admin.end();
      const server = new URL(base.WAREHOUSE_URL);
      server.pathname = '/postgres';
      const client = new pg.Client({ connectionString: server.toString() });
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
