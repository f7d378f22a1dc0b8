/**
 * Regression: migrating several databases of one server at once (parallel test files, several
 * ingestors starting together) failed with "tuple concurrently updated", because the component
 * roles are shared by the whole server while the migration lock is per database.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../lib/warehouse/migrate.ts';
import { testConfig, uniqueSuffix } from '../../helpers/config.ts';
import { testEndpoints } from '../../helpers/services.ts';
import { databaseUrl } from '../../helpers/warehouse.ts';

const created: string[] = [];

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl(testEndpoints().warehouseAdminUrl, 'postgres') });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await admin(async (client) => {
    for (const database of created) await client.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
  });
});

describe('migrate', () => {
  it('migrates many databases of one server concurrently', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `t_migrate_race_${i}_${uniqueSuffix()}`);
    created.push(...names);
    for (let round = 0; round < 3; round++) {
      // Round 0 applies every migration; later rounds only set passwords and grants, which is
      // where the concurrent role updates collide.
      const results = await Promise.allSettled(
        names.map((name) => migrate(testConfig({ WAREHOUSE_URL: databaseUrl(testEndpoints().warehouseAdminUrl, name) }))),
      );
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
      expect(failures).toEqual([]);
    }
  });
});
