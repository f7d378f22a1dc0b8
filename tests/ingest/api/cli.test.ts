/**
 * `npm run ingest:api` as a real child process against the shop API process: kill -9 in the
 * middle of a pull loses and duplicates nothing (the next run starts at the committed cursor),
 * and an API that stays down gives exit 69 naming the URL, after its retries.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestShopDb, type TestShopDb } from '../../helpers/shopdb.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { scratchFolder } from '../files/support.ts';
import { apiLanded, ORDER_COLUMNS, PULLER_CLI, seedShop, shopOrders, startChild, startShopApi, TOKEN, type RunningApi } from './support.ts';

const ORDERS = 600;
let warehouse: TestWarehouse;
let shop: TestShopDb;
let api: RunningApi;
const folder = scratchFolder('api-cli');

beforeAll(async () => {
  [warehouse, shop] = await Promise.all([createTestWarehouse('ingest_api_cli'), createTestShopDb('ingest_api_cli')]);
  await seedShop(shop.url, ORDERS);
  // Every answer a little slow, so a pull takes long enough to be killed in the middle.
  api = await startShopApi(shop.url, ['--faults', 'slow=1', '--slow-ms', '150']);
});

afterAll(async () => {
  await api?.stop();
  await Promise.all([warehouse?.drop(), shop?.drop()]);
  folder.remove();
});

function writeConfig(name: string, baseUrl: string): string {
  const path = join(folder.path, `${name}.json`);
  const source = {
    name,
    baseUrl,
    path: '/v1/orders',
    query: { paging: 'cursor' },
    paging: 'cursor',
    pageSize: 25,
    updatedAt: 'updated_at',
    keys: ['order_id'],
    columns: ORDER_COLUMNS,
  };
  writeFileSync(path, JSON.stringify({ sources: [source] }));
  return path;
}

function puller(config: string, env: Record<string, string> = {}) {
  return startChild(PULLER_CLI, ['--config', config], {
    WAREHOUSE_URL: warehouse.config.WAREHOUSE_URL,
    WAREHOUSE_INGEST_PASSWORD: warehouse.config.WAREHOUSE_INGEST_PASSWORD,
    API_TOKEN: TOKEN,
    ...env,
  });
}

describe('npm run ingest:api', () => {
  it('after kill -9 in the middle of a pull, the next run lands exactly the rest: nothing lost, nothing twice', async () => {
    const config = writeConfig('killed', api.url);
    const admin = new pg.Client({ connectionString: warehouse.adminUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      const victim = puller(config);
      let landed = 0;
      for (let i = 0; i < 400 && landed < 100; i++) {
        landed = (await admin.query<{ n: number }>("select count(*)::int as n from raw.api_records where source_name = 'killed'")).rows[0]!
          .n;
        if (landed < 100) await sleep(25);
      }
      victim.child.kill('SIGKILL');
      await victim.exit;
      const atKill = (await apiLanded(warehouse.adminUrl, 'killed')).versions.length;
      expect(atKill, victim.output()).toBeGreaterThanOrEqual(100);
      expect(atKill).toBeLessThan(ORDERS);

      const rerun = puller(config);
      expect(await rerun.exit, rerun.output()).toBe(0);
      const after = await apiLanded(warehouse.adminUrl, 'killed');
      expect(after.versions).toEqual((await shopOrders(shop.url)).sort());
      expect(after.cursor?.records_landed).toBe(String(ORDERS));
    } finally {
      await admin.end();
    }
  });

  it('exits 69 naming the URL when the API stays unreachable past its retries, landing nothing', async () => {
    const config = writeConfig('unreachable', 'http://127.0.0.1:1');
    const run = puller(config, { API_MAX_ATTEMPTS: '2', API_RETRY_MAX_MS: '50' });
    expect(await run.exit, run.output()).toBe(69);
    expect(run.output()).toMatch(
      /ingest:api: unreachable failed: ingest:api unreachable: http:\/\/127\.0\.0\.1:1\/v1\/orders\?.* failed 2 times/,
    );
    expect(await apiLanded(warehouse.adminUrl, 'unreachable')).toEqual({ versions: [], cursor: null, deadLetters: [] });
  });
});
