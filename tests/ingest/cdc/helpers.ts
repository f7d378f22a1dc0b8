/**
 * Shared pieces of the CDC tests: a source database + warehouse pair, the current state derived
 * from raw.shop_changes (latest change per key after the table's last truncate, as dbt derives
 * it) and the source's own rows in the same JSON format, for row-by-row comparison.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { FieldPacket } from 'mysql2';

import type { Config } from '../../../lib/config/index.ts';
import { createLogger } from '../../../lib/logger.ts';
import { CdcIngestor, type CdcOptions, type CdcSummary } from '../../../ingest/cdc/ingestor.ts';
import { makeRowConverter } from '../../../ingest/cdc/values.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestShopDb, type TestShopDb } from '../../helpers/shopdb.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';

export interface CdcTestEnv {
  shop: TestShopDb;
  warehouse: TestWarehouse;
  config: Config;
  serverId: number;
  /** Admin connection to the test's source database (multi-statement). */
  source: mysql.Connection;
  /** Superuser client of the test's warehouse database. */
  wh: pg.Client;
  drop(): Promise<void>;
}

export function randomServerId(): number {
  return 100_000 + Math.floor(Math.random() * 1_000_000_000);
}

export async function createCdcEnv(label: string, options: { withSchema?: boolean } = {}): Promise<CdcTestEnv> {
  const shop = await createTestShopDb(label, { withSchema: options.withSchema ?? false });
  const warehouse = await createTestWarehouse(label);
  const serverId = randomServerId();
  const config = testConfig({
    SHOP_DB_URL: shop.url,
    WAREHOUSE_URL: warehouse.adminUrl,
    CDC_SERVER_ID: String(serverId),
    INGEST_BATCH_MAX_MS: '100',
  });
  const source = await mysql.createConnection({ uri: shop.url, multipleStatements: true, jsonStrings: true });
  source.on('error', () => undefined);
  const wh = new pg.Client({ connectionString: warehouse.adminUrl });
  wh.on('error', () => undefined);
  await wh.connect();
  return {
    shop,
    warehouse,
    config,
    serverId,
    source,
    wh,
    async drop() {
      await source.end().catch(() => undefined);
      await wh.end().catch(() => undefined);
      await shop.drop();
      await warehouse.drop();
    },
  };
}

export async function runUntilIdle(env: CdcTestEnv, extra: Partial<CdcOptions> = {}, idleMs = 300): Promise<CdcSummary> {
  const ingestor = new CdcIngestor({
    config: env.config,
    serverId: env.serverId,
    logger: createLogger('ingest-cdc-test', process.env.LOG_LEVEL ?? 'warn'),
    untilIdleMs: idleMs,
    retry: { minDelayMs: 100, maxDelayMs: 1_000, maxUnknownFailures: 2 },
    ...extra,
  });
  return ingestor.run();
}

type Json = Record<string, unknown>;

/** A key object as stable text: keys sorted, so both sides of a comparison agree. */
export function keyText(key: Json): string {
  return JSON.stringify(Object.fromEntries(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** Current state per primary key, derived from the raw log as the dbt staging layer does. */
export async function derivedState(wh: pg.Client, table: string): Promise<Map<string, Json>> {
  const result = await wh.query<{ primary_key: Json; after_image: Json }>(
    `with last_truncate as (
       select coalesce(max(change_id), 0) as change_id from raw.shop_changes where table_name = $1 and operation = 'truncate'
     ), latest as (
       select distinct on (primary_key) primary_key, operation, after_image
         from raw.shop_changes
        where table_name = $1 and primary_key is not null and change_id > (select change_id from last_truncate)
        order by primary_key, change_id desc
     )
     select primary_key, after_image from latest where operation <> 'delete'`,
    [table],
  );
  return new Map(result.rows.map((r) => [keyText(r.primary_key), r.after_image]));
}

/** The source table's rows keyed like derivedState, in the raw log's JSON format. */
export async function sourceState(source: mysql.Connection, table: string, primaryKey: string[]): Promise<Map<string, Json>> {
  await source.query("SET SESSION time_zone = '+00:00'");
  const [rows, fields] = (await source.query({
    sql: `SELECT * FROM ${mysql.escapeId(table)}`,
    dateStrings: true,
    jsonStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
  } as mysql.QueryOptions)) as unknown as [Json[], FieldPacket[]];
  const convert = makeRowConverter(fields.map((f) => ({ name: f.name, typeCode: f.columnType ?? 0 })));
  const state = new Map<string, Json>();
  for (const raw of rows) {
    const row = JSON.parse(JSON.stringify(convert(raw))) as Json;
    const key: Json = {};
    for (const column of primaryKey) key[column] = row[column];
    state.set(keyText(key), row);
  }
  return state;
}

export async function changeCounts(wh: pg.Client): Promise<Record<string, number>> {
  const result = await wh.query<{ operation: string; n: string }>(
    'select operation, count(*) as n from raw.shop_changes group by operation',
  );
  return Object.fromEntries(result.rows.map((r) => [r.operation, Number(r.n)]));
}

/** Binlog changes landed twice would share (file, position, row_index); snapshot rows (table, key, snapshot). */
export async function duplicateChanges(wh: pg.Client): Promise<number> {
  const result = await wh.query<{ n: string }>(
    `select count(*) as n from (
       select 1 from raw.shop_changes where snapshot_id is null and binlog_file is not null
        group by binlog_file, binlog_position, row_index having count(*) > 1
       union all
       select 1 from raw.shop_changes where snapshot_id is not null and operation = 'snapshot'
        group by snapshot_id, table_name, primary_key having count(*) > 1
     ) d`,
  );
  return Number(result.rows[0]!.n);
}
