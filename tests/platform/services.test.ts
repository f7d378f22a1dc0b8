/**
 * The running services are what the rest of ShopFlow assumes: reachable, MariaDB logging full
 * row images with GTIDs (CDC depends on it), Kafka refusing to invent topics, and warehouse
 * roles that cannot step outside their schemas.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl, type WarehouseRole } from '../../lib/config/index.ts';
import { listTopics, withKafkaAdmin } from '../../lib/kafka/admin.ts';
import { portAnswers } from '../../scripts/services/process.ts';
import { testEndpoints } from '../helpers/services.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';

async function asRole(warehouse: TestWarehouse, role: WarehouseRole, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: roleUrl(warehouse.config, role) });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

async function sqlstateOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('services', () => {
  it('are all reachable', async () => {
    const endpoints = testEndpoints();
    const warehouse = new pg.Client({ connectionString: endpoints.warehouseAdminUrl });
    warehouse.on('error', () => undefined);
    await warehouse.connect();
    const version = await warehouse.query<{ server_version_num: string }>('show server_version_num');
    await warehouse.end();
    expect(Number(version.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(170000);

    expect(Array.isArray(await listTopics(endpoints.kafkaBrokers))).toBe(true);
    const smtp = new URL(endpoints.smtpUrl);
    expect(await portAnswers(Number(smtp.port), smtp.hostname)).toBe(true);
  });

  it('MariaDB writes a ROW binlog with full images and metadata, and GTIDs', async () => {
    const connection = await mysql.createConnection({ uri: testEndpoints().shopDbAdminUrl });
    connection.on('error', () => undefined);
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        `select @@log_bin as log_bin, @@binlog_format as format, @@binlog_row_image as image,
                @@binlog_row_metadata as metadata, @@gtid_strict_mode as strict_gtid, @@server_id as server_id,
                @@max_allowed_packet as max_packet, @@version as version`,
      );
      const row = rows[0] as mysql.RowDataPacket;
      expect({
        log_bin: Number(row.log_bin),
        format: row.format,
        image: row.image,
        metadata: row.metadata,
        strict_gtid: Number(row.strict_gtid),
      }).toEqual({
        log_bin: 1,
        format: 'ROW',
        image: 'FULL',
        metadata: 'FULL',
        strict_gtid: 1,
      });
      expect(Number(row.server_id)).toBeGreaterThan(0);
      expect(Number(row.max_packet)).toBeGreaterThanOrEqual(64 * 1024 * 1024);
      expect(String(row.version)).toMatch(/MariaDB/);
      const [gtid] = await connection.query<mysql.RowDataPacket[]>('select @@gtid_binlog_pos as pos');
      expect(String(gtid[0]?.pos)).toMatch(/^(\d+-\d+-\d+(,\d+-\d+-\d+)*)?$/);
    } finally {
      await connection.end();
    }
  });

  it('Kafka does not create topics on first use', async () => {
    const { kafkaBrokers } = testEndpoints();
    const autoCreate = await withKafkaAdmin(kafkaBrokers, (admin) => admin.brokerConfig('auto.create.topics.enable'));
    expect(autoCreate).toBe('false');
  });
});

describe('warehouse roles', () => {
  let warehouse: TestWarehouse;

  beforeAll(async () => {
    warehouse = await createTestWarehouse('roles');
    await asRole(warehouse, 'transformer', 'create table marts.role_probe (id int)');
    await asRole(warehouse, 'transformer', 'insert into marts.role_probe values (1)');
  });
  afterAll(async () => {
    await warehouse?.drop();
  });

  it('bi_reader reads marts but cannot write them', async () => {
    expect((await asRole(warehouse, 'bi_reader', 'select id from marts.role_probe')).rows).toEqual([{ id: 1 }]);
    // Checked as privileges, not only as a refused statement: the role may also be read-only by default (25006).
    const privileges = await asRole(
      warehouse,
      'admin',
      `select has_table_privilege('bi_reader', 'marts.role_probe', 'INSERT,UPDATE,DELETE,TRUNCATE') as can_write,
              has_schema_privilege('bi_reader', 'marts', 'CREATE') as can_create`,
    );
    expect(privileges.rows[0]).toEqual({ can_write: false, can_create: false });
    expect(await sqlstateOf(asRole(warehouse, 'bi_reader', 'begin read write; insert into marts.role_probe values (2)'))).toBe('42501');
    expect(await sqlstateOf(asRole(warehouse, 'bi_reader', 'begin read write; create table marts.bi_table (id int)'))).toBe('42501');
  });

  it('bi_reader cannot read raw', async () => {
    expect(await sqlstateOf(asRole(warehouse, 'bi_reader', 'select * from raw.shop_events limit 1'))).toBe('42501');
    expect(await sqlstateOf(asRole(warehouse, 'bi_reader', 'select * from raw.shop_changes limit 1'))).toBe('42501');
  });

  it('ingest_writer writes raw but cannot create tables in marts', async () => {
    expect(await sqlstateOf(asRole(warehouse, 'ingest_writer', 'create table marts.ingest_table (id int)'))).toBe('42501');
    expect(await sqlstateOf(asRole(warehouse, 'ingest_writer', 'select * from marts.role_probe'))).toBe('42501');
    expect(await sqlstateOf(asRole(warehouse, 'ingest_writer', 'select count(*) from raw.shop_events'))).toBeUndefined();
  });

  it('no component role is a superuser', async () => {
    const result = await asRole(
      warehouse,
      'admin',
      `select rolname from pg_roles where rolname in ('ingest_writer','transformer','bi_reader','ops_writer') and (rolsuper or rolcreaterole or rolcreatedb)`,
    );
    expect(result.rows).toEqual([]);
  });
});
