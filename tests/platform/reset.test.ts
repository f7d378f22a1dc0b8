/**
 * `npm run reset` after a full pipeline run: the next generate, ingestion and `dbt build` are
 * green and hold only the new world. Before reset existed, `generate --reset` left the warehouse
 * holding the old world (its change log, offsets and marts), and the next `dbt build` went red.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { withKafkaAdmin } from '../../lib/kafka/admin.ts';
import { ROOT_DIR } from '../../lib/root.ts';
import { migrationTablesInDbtSchemas } from '../../scripts/reset/index.ts';
import { dbtRunner, withPg } from '../dbt/helpers.ts';
import { createPipelineEnv, generateAndIngest, type PipelineEnv } from '../dbt/pipeline.ts';

function reset(env: PipelineEnv, args: string[]): Promise<{ code: number | null; out: string }> {
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    WAREHOUSE_URL: env.warehouse.adminUrl,
    SHOP_DB_URL: env.shop.url,
    KAFKA_BROKERS: env.topic.brokers.join(','),
    KAFKA_TOPIC: env.topic.topic,
    KAFKA_GROUP_ID: env.topic.groupId,
    KAFKA_PARTITIONS: '3',
    LOG_LEVEL: 'warn',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'scripts', 'reset.ts'), ...args], {
      cwd: ROOT_DIR,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function shopOrders(env: PipelineEnv): Promise<number> {
  const shop = await mysql.createConnection({ uri: env.shop.url });
  try {
    const [rows] = await shop.query<mysql.RowDataPacket[]>('select count(*) as n from orders');
    return Number(rows[0]!.n);
  } finally {
    await shop.end();
  }
}

async function count(url: string, sql: string): Promise<number> {
  return withPg(url, async (client) => Number((await client.query<{ n: string }>(sql)).rows[0]!.n));
}

describe('npm run reset', () => {
  let env: PipelineEnv;
  let runner: ReturnType<typeof dbtRunner>;

  beforeAll(async () => {
    env = await createPipelineEnv('reset');
    runner = dbtRunner(env.config);
    await generateAndIngest(env, { from: '2024-11-01', to: '2024-11-30', customers: 150, products: 20, orders: 400, seed: 3 });
    await runner.dbt(['build']);
  }, 900_000);

  afterAll(async () => {
    runner?.cleanup();
    await env?.drop();
  });

  it('refuses without --yes when not on a terminal, and changes nothing', async () => {
    const run = await reset(env, []);
    expect(run.code).toBe(2);
    expect(run.out).toContain('reset: reset deletes data: pass --yes to confirm when not on a terminal');
    const orders = await shopOrders(env);
    expect(orders).toBeGreaterThan(0);
    expect(await count(env.warehouse.adminUrl, 'select count(*) as n from marts.fct_orders')).toBe(orders);
  });

  it(
    'empties the shop, the topic and the warehouse, keeping roles, schemas and migrations; then a new world builds green',
    { timeout: 900_000 },
    async () => {
      const migrations = await count(env.warehouse.adminUrl, 'select count(*) as n from ops.schema_migrations');
      const run = await reset(env, ['--yes']);
      expect(run.code, run.out).toBe(0);
      expect(run.out).toMatch(/^warehouse +\d+ tables emptied in raw, raw_shop, raw_files, ingest and ops; \d+ dbt relations dropped$/m);

      const shop = await mysql.createConnection({ uri: env.shop.url });
      try {
        const [rows] = await shop.query<mysql.RowDataPacket[]>(
          'select (select count(*) from customers) + (select count(*) from orders) as n',
        );
        expect(Number(rows[0]!.n)).toBe(0);
      } finally {
        await shop.end();
      }
      const offsets = await withKafkaAdmin(env.topic.brokers, (admin) => admin.watermarks(env.topic.topic));
      expect(offsets.map((o) => Number(o.high))).toEqual([0, 0, 0]);
      for (const table of [
        'raw.shop_events',
        'raw.shop_changes',
        'raw.dead_letters',
        'ingest.kafka_offsets',
        'ingest.cdc_positions',
        'ops.runs',
      ]) {
        expect(await count(env.warehouse.adminUrl, `select count(*) as n from ${table}`), table).toBe(0);
      }
      // Every relation dbt built is gone; the tables the migrations keep in dbt's schemas stay, empty.
      const migrationTables = [...migrationTablesInDbtSchemas()];
      expect(migrationTables.length).toBeGreaterThan(0);
      expect(
        await count(
          env.warehouse.adminUrl,
          `select count(*) as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname in ('staging', 'intermediate', 'marts', 'snapshots') and c.relkind in ('r', 'p', 'v', 'm', 'f')
              and n.nspname || '.' || c.relname <> all(array[${migrationTables.map((t) => `'${t}'`).join(', ')}])`,
        ),
      ).toBe(0);
      for (const table of migrationTables) {
        expect(await count(env.warehouse.adminUrl, `select count(*) as n from ${table}`), table).toBe(0);
      }
      expect(await count(env.warehouse.adminUrl, 'select count(*) as n from ops.schema_migrations')).toBe(migrations);

      // A different world on the same installation: generate (a backfill needs an empty shop), ingest, build.
      await generateAndIngest(env, { from: '2025-02-01', to: '2025-02-20', customers: 120, products: 15, orders: 250, seed: 11 });
      await runner.dbt(['build']);
      const orders = await shopOrders(env);
      expect(orders).toBeGreaterThan(0);
      expect(await count(env.warehouse.adminUrl, 'select count(*) as n from marts.fct_orders')).toBe(orders);
      expect(await count(env.warehouse.adminUrl, "select count(*) as n from marts.fct_orders where placed_at < '2025-01-01'")).toBe(0);
    },
  );
});
