/**
 * The REST puller against the generator's shop API running as a real process on 127.0.0.1,
 * over a real MariaDB, landing into a real warehouse as ingest_writer: every paging style lands
 * each order once; the next pull lands only what changed; 500s, 429s (rate limit and injected,
 * with Retry-After), answers slower than the timeout and bodies cut short are retried until
 * every record is landed exactly once; bad records are dead-lettered once with their exact
 * bytes; a wrong token stops the source at once.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { HttpPolicy } from '../../../ingest/api/http.ts';
import { pullSource } from '../../../ingest/api/puller.ts';
import type { ApiSource } from '../../../ingest/api/source-config.ts';
import { roleUrl } from '../../../lib/config/roles.ts';
import { ShopflowError } from '../../../lib/errors.ts';
import { createLogger } from '../../../lib/logger.ts';
import { createPool } from '../../../lib/pg/pool.ts';
import { createTestShopDb, type TestShopDb } from '../../helpers/shopdb.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { apiLanded, ordersSource, seedShop, shopOrders, startShopApi, TOKEN, type RunningApi } from './support.ts';

const ORDERS = 1200;
let warehouse: TestWarehouse;
let shop: TestShopDb;
let pool: pg.Pool;
let api: RunningApi;
const logger = createLogger('ingest-api-test', 'silent');
const POLICY: HttpPolicy = { timeoutMs: 5_000, maxAttempts: 6, minDelayMs: 20, maxDelayMs: 2_000 };

beforeAll(async () => {
  [warehouse, shop] = await Promise.all([createTestWarehouse('ingest_api'), createTestShopDb('ingest_api')]);
  await seedShop(shop.url, ORDERS);
  pool = createPool({ connectionString: roleUrl(warehouse.config, 'ingest_writer'), applicationName: 'api-puller-test', max: 2 });
  api = await startShopApi(shop.url);
});

afterAll(async () => {
  await api?.stop();
  await pool?.end();
  await Promise.all([warehouse?.drop(), shop?.drop()]);
});

async function pull(source: ApiSource, options: { token?: string; policy?: HttpPolicy } = {}) {
  const client = await pool.connect();
  try {
    return await pullSource(client, source, {
      token: options.token ?? TOKEN,
      policy: options.policy ?? POLICY,
      logger,
      signal: new AbortController().signal,
    });
  } finally {
    client.release();
  }
}

describe('pulling the shop API', () => {
  it.each(['cursor', 'offset', 'link'] as const)(
    'lands every order once with %s paging; a second pull lands nothing new',
    async (paging) => {
      const source = ordersSource(`orders_${paging}`, api.url, paging);
      const first = await pull(source);
      expect(first).toMatchObject({
        pages: ORDERS / 100 + (paging === 'offset' ? 1 : 0),
        received: ORDERS,
        inserted: ORDERS,
        deadLetters: 0,
      });
      const expected = (await shopOrders(shop.url)).sort();
      expect((await apiLanded(warehouse.adminUrl, source.name)).versions).toEqual(expected);

      // The cursor is inclusive: the last instant's records come again and are dropped as landed.
      const again = await pull(source);
      expect(again.inserted).toBe(0);
      expect(again.received).toBeGreaterThan(0);
      expect(again.received).toBeLessThan(10);
      const landed = await apiLanded(warehouse.adminUrl, source.name);
      expect(landed.versions).toEqual(expected);
      expect(landed.cursor).toEqual({ cursor_value: '2025-01-17T16:00:00.000Z', records_landed: String(ORDERS) });
    },
  );

  it('lands only the new versions of the orders that changed since the cursor', async () => {
    const source = ordersSource('orders_incremental', api.url, 'cursor');
    await pull(source);
    const connection = await mysql.createConnection({ uri: shop.url });
    connection.on('error', () => undefined);
    try {
      await connection.query("update orders set status = 'paid' where order_id in (5, 500, 1000)");
    } finally {
      await connection.end();
    }
    const second = await pull(source);
    expect(second.inserted).toBe(3);
    const landed = await apiLanded(warehouse.adminUrl, source.name);
    expect(landed.versions).toHaveLength(ORDERS + 3);
    // Every version the shop has now is landed, and the older versions stay (raw is a log).
    expect(landed.versions).toEqual(expect.arrayContaining(await shopOrders(shop.url)));
  });

  it('dead-letters a record that does not fit its source once, with the exact bytes served, and lands the rest', async () => {
    const source = ordersSource('orders_strict', api.url, 'cursor', {
      columns: [
        { name: 'order_id', type: 'integer' },
        { name: 'ship_region', type: 'text', nullable: false },
        { name: 'updated_at', type: 'timestamp' },
      ],
    });
    const first = await pull(source);
    const bad = Math.floor(ORDERS / 97);
    expect(first).toMatchObject({ received: ORDERS, deadLetters: bad });
    await pull(source);
    const landed = await apiLanded(warehouse.adminUrl, source.name);
    expect(landed.deadLetters).toHaveLength(bad);
    expect(landed.versions).toHaveLength(ORDERS - bad);
    const letter = landed.deadLetters[0]!;
    expect(letter.error_code).toBe('API_BAD_RECORD');
    expect(letter.reason).toMatch(/^orders_strict: record \d+ of http:\/\/127\.0\.0\.1:\d+\/v1\/orders\?.*: ship_region /);
    const served = JSON.parse(letter.payload.toString('utf8')) as Record<string, unknown>;
    expect(served).toMatchObject({ order_id: 97, ship_region: null });
    // The shop API writes JSON.stringify of the record: the payload is those bytes, byte for byte.
    expect(letter.payload.toString('utf8')).toBe(JSON.stringify(served));
    expect(letter.details).toMatchObject({ source: 'orders_strict', key: 97 });
  });

  it('stops a source at once when the API refuses the token, landing nothing', async () => {
    const source = ordersSource('orders_bad_token', api.url, 'cursor');
    const refused = await pull(source, { token: 'wrong' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ShopflowError);
    expect((refused as ShopflowError).code).toBe('API_UNAUTHORIZED');
    expect(await apiLanded(warehouse.adminUrl, source.name)).toEqual({ versions: [], cursor: null, deadLetters: [] });
  });
});

describe('pulling through faults', () => {
  it('retries 500s, 429s with Retry-After, answers past the timeout and bodies cut short, landing every order exactly once', async () => {
    const faulty = await startShopApi(shop.url, [
      '--faults',
      '500=0.12,429=0.08,slow=0.08,truncate=0.12',
      '--slow-ms',
      '1500',
      '--seed',
      '11',
    ]);
    let counts: Record<string, number> = {};
    try {
      for (const paging of ['cursor', 'link', 'offset'] as const) {
        const source = ordersSource(`orders_faults_${paging}`, faulty.url, paging);
        const summary = await pull(source, { policy: { timeoutMs: 700, maxAttempts: 30, minDelayMs: 20, maxDelayMs: 1_500 } });
        expect(summary.inserted).toBe(ORDERS);
        const landed = await apiLanded(warehouse.adminUrl, source.name);
        expect(landed.versions).toEqual((await shopOrders(shop.url)).sort());
      }
    } finally {
      counts = await faulty.stop();
    }
    // The faults really happened (the API counts what it injected).
    for (const kind of ['500', '429', 'slow', 'truncate'])
      expect(counts[kind] ?? 0, `${kind} in ${JSON.stringify(counts)}: ${faulty.output().slice(-1500)}`).toBeGreaterThan(0);
  });

  it('offset paging skips nothing when records are updated during the pull (they move to the end of the order)', async () => {
    // Regression guard: with offsets counted from the first page, 150 records updated mid-pull
    // shift every later page by 150 and that many records are never asked for again.
    const slow = await startShopApi(shop.url, ['--faults', 'slow=1', '--slow-ms', '100']);
    const admin = new pg.Client({ connectionString: warehouse.adminUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      const source = ordersSource('orders_offset_moving', slow.url, 'offset');
      const pulling = pull(source);
      for (let i = 0; i < 400; i++) {
        const n = (
          await admin.query<{ n: number }>("select count(*)::int as n from raw.api_records where source_name = 'orders_offset_moving'")
        ).rows[0]!.n;
        if (n >= 300) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const connection = await mysql.createConnection({ uri: shop.url });
      connection.on('error', () => undefined);
      try {
        await connection.query("update orders set status = 'shipped' where order_id <= 150");
      } finally {
        await connection.end();
      }
      await pulling;
      const landed = await apiLanded(warehouse.adminUrl, source.name);
      expect(new Set(landed.versions.map((v) => v.split('@')[0])).size).toBe(ORDERS);
      expect(landed.versions).toEqual(expect.arrayContaining(await shopOrders(shop.url)));
    } finally {
      await admin.end();
      await slow.stop();
    }
  });

  it("keeps to the API's rate limit: waits as its 429s' Retry-After says and lands every order once", async () => {
    const limited = await startShopApi(shop.url, ['--rate', '4', '--burst', '1']);
    let counts: Record<string, number> = {};
    try {
      const source = ordersSource('orders_rate_limited', limited.url, 'link', { pageSize: 200 });
      const started = performance.now();
      const summary = await pull(source, { policy: { timeoutMs: 5_000, maxAttempts: 10, minDelayMs: 1, maxDelayMs: 5_000 } });
      expect(summary.inserted).toBe(ORDERS);
      // Retry-After is whole seconds: each 429 costs the puller at least one second.
      counts = await limited.stop();
      expect(counts['429-limit'] ?? 0, JSON.stringify(counts)).toBeGreaterThan(0);
      expect(performance.now() - started).toBeGreaterThanOrEqual(1000 * (counts['429-limit'] ?? 0) * 0.9);
    } finally {
      if (limited.child.exitCode === null) await limited.stop();
    }
  });

  it('gives up after API_MAX_ATTEMPTS with a retryable error naming the URL, keeping what committed', async () => {
    const broken = await startShopApi(shop.url, ['--faults', '500=1']);
    try {
      const source = ordersSource('orders_down', broken.url, 'cursor');
      const failed = await pull(source, { policy: { timeoutMs: 1_000, maxAttempts: 3, minDelayMs: 10, maxDelayMs: 50 } }).catch(
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(ShopflowError);
      expect((failed as ShopflowError).code).toBe('SHOPFLOW_SERVICE_UNAVAILABLE');
      expect((failed as Error).message).toMatch(/\/v1\/orders\?.* failed 3 times \(last: HTTP 500\)/);
    } finally {
      await broken.stop();
    }
  });
});
