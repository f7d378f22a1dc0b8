/**
 * The test factories every other suite builds on: each must hand out an isolated, usable
 * resource and clean it up, or every integration test would leak or share state.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { roleUrl } from '../../lib/config/index.ts';
import { listTopics, withKafkaAdmin } from '../../lib/kafka/admin.ts';
import { createTestTopic } from '../helpers/kafka.ts';
import { testEndpoints } from '../helpers/services.ts';
import { createTestShopDb } from '../helpers/shopdb.ts';
import { createTestWarehouse, templateName } from '../helpers/warehouse.ts';

async function pgQuery<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('createTestWarehouse', () => {
  it('clones a migrated database that the component roles can use, and drops it', async () => {
    const warehouse = await createTestWarehouse('helpers');
    try {
      expect(new URL(warehouse.config.WAREHOUSE_URL).pathname).toBe(`/${warehouse.database}`);
      const tables = await pgQuery<{ name: string }>(
        warehouse.adminUrl,
        `select table_schema || '.' || table_name as name from information_schema.tables where table_schema in ('raw', 'ingest', 'ops')`,
      );
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['raw.shop_events', 'raw.shop_changes', 'raw.dead_letters', 'ingest.kafka_offsets', 'ops.runs']),
      );
      // The role URL connects to the clone, and the database-level grant dbt needs is present.
      const rows = await pgQuery<{ db: string; can_create: boolean }>(
        roleUrl(warehouse.config, 'transformer'),
        `select current_database() as db, has_database_privilege('transformer', current_database(), 'CREATE') as can_create`,
      );
      expect(rows[0]).toEqual({ db: warehouse.database, can_create: true });
      const template = await pgQuery<{ datistemplate: boolean }>(
        warehouse.adminUrl,
        `select datistemplate from pg_database where datname = '${templateName()}'`,
      );
      expect(template[0]?.datistemplate).toBe(true);
    } finally {
      await warehouse.drop();
    }
    const left = await pgQuery(testEndpoints().warehouseAdminUrl, `select 1 from pg_database where datname = '${warehouse.database}'`);
    expect(left).toHaveLength(0);
  });

  it('gives two calls two different databases', async () => {
    const [a, b] = await Promise.all([createTestWarehouse('twin'), createTestWarehouse('twin')]);
    try {
      expect(a.database).not.toBe(b.database);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});

describe('createTestShopDb', () => {
  it('creates a database with the shop schema and drops it', async () => {
    const shop = await createTestShopDb('helpers');
    const connection = await mysql.createConnection({ uri: shop.url });
    connection.on('error', () => undefined);
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        'select table_name as name from information_schema.tables where table_schema = database() order by 1',
      );
      expect(rows.map((r) => String(r.name))).toEqual(
        expect.arrayContaining(['customers', 'orders', 'order_items', 'payments', 'products']),
      );
      expect(new URL(shop.config.SHOP_DB_URL).pathname).toBe(`/${shop.database}`);
    } finally {
      await connection.end();
      await shop.drop();
    }
    const admin = await mysql.createConnection({ uri: testEndpoints().shopDbAdminUrl });
    admin.on('error', () => undefined);
    const [left] = await admin.query<mysql.RowDataPacket[]>('select schema_name from information_schema.schemata where schema_name = ?', [
      shop.database,
    ]);
    await admin.end();
    expect(left).toHaveLength(0);
  });

  it('can leave the schema out', async () => {
    const shop = await createTestShopDb('empty', { withSchema: false });
    const connection = await mysql.createConnection({ uri: shop.url });
    connection.on('error', () => undefined);
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        'select count(*) as n from information_schema.tables where table_schema = database()',
      );
      expect(Number(rows[0]?.n)).toBe(0);
    } finally {
      await connection.end();
      await shop.drop();
    }
  });
});

describe('createTestTopic', () => {
  it('creates a topic with the asked partitions and deletes it', async () => {
    const topic = await createTestTopic('helpers', 4);
    try {
      expect(topic.config.KAFKA_TOPIC).toBe(topic.topic);
      expect(topic.config.KAFKA_PARTITIONS).toBe(4);
      const metadata = await withKafkaAdmin(topic.brokers, (admin) => admin.topicMetadata(topic.topic));
      expect(metadata.partitions).toHaveLength(4);
    } finally {
      await topic.delete();
    }
    expect(await listTopics(topic.brokers)).not.toContain(topic.topic);
  });
});
