/**
 * The platform's per-file test warehouse plus what scheduler tests need beside it: a config
 * with scheduler settings (no ingestors unless asked), and a superuser pool for assertions.
 */
import pg from 'pg';

import type { Config } from '../../../lib/config/index.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestWarehouse } from '../../helpers/warehouse.ts';

export interface SchedulerTestWarehouse {
  database: string;
  adminUrl: string;
  config: Config;
  /** A superuser pool on the test database, for assertions and fault injection. */
  admin: pg.Pool;
  drop(): Promise<void>;
}

export async function createSchedulerWarehouse(label: string, env: Record<string, string> = {}): Promise<SchedulerTestWarehouse> {
  const warehouse = await createTestWarehouse(`sched_${label}`);
  const config = testConfig({ WAREHOUSE_URL: warehouse.adminUrl, SCHEDULER_INGESTORS: 'none', ...env });
  const admin = new pg.Pool({ connectionString: warehouse.adminUrl, max: 2, application_name: 'shopflow-test' });
  admin.on('error', () => undefined);
  return {
    database: warehouse.database,
    adminUrl: warehouse.adminUrl,
    config,
    admin,
    drop: async () => {
      await admin.end();
      await warehouse.drop();
    },
  };
}
