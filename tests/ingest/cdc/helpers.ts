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
import { selectRowsSql } from '../../../ingest/cdc/snapshot-select.ts';
import { sourceColumns } from '../../../ingest/cdc/source.ts';
import { typedTableName } from '../../../ingest/cdc/typed-tables.ts';
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

/** The layout the tests run against (CDC_RAW_LAYOUT): every helper below reads either one. */
export const LAYOUT = testConfig().CDC_RAW_LAYOUT;

/** Source tables with a typed change log (raw_shop) now; a long name's relation maps back (migration 0221). */
async function typedTables(wh: pg.Client): Promise<string[]> {
  const result = await wh.query<{ name: string }>(
    `select coalesce(named.source_table, c.relname) as name
       from pg_class c left join ingest.cdc_typed_table_sources named on named.relation_name = c.relname
      where c.relnamespace = 'raw_shop'::regnamespace and c.relkind = 'r' order by 1`,
  );
  return result.rows.map((r) => r.name);
}

/**
 * A relation (for a FROM clause) with raw.shop_changes' metadata columns over every change of
 * either layout: change_id, table_name, operation, primary_key (jsonb), binlog_file,
 * binlog_position, row_index, gtid, snapshot_id, ddl. Typed tables are read as they are now.
 */
export async function changesRelation(wh: pg.Client): Promise<string> {
  if (LAYOUT === 'jsonb') return 'raw.shop_changes';
  const columns = 'change_id, operation, binlog_file, binlog_position, row_index, gtid, snapshot_id';
  const parts = [`select ${columns}, table_name, primary_key, ddl from raw.shop_changes`];
  for (const table of await typedTables(wh)) {
    parts.push(`select ${columns}, ${pg.escapeLiteral(table)} as table_name, _key::jsonb, null from ${typedTableName(table)}`);
  }
  return `(${parts.join(' union all ')}) as shop_changes`;
}

/** A typed column's text (read with ::text in a UTC session) in the raw log's JSON value format. */
function jsonValue(text: string | null, pgType: string): unknown {
  if (text === null) return null;
  const safe = (digits: string) => (Number.isSafeInteger(Number(digits)) ? Number(digits) : digits);
  if (pgType === 'bigint' || pgType === 'smallint' || /^numeric\(\d+,0\)$/.test(pgType)) return safe(text);
  if (pgType === 'real' || pgType === 'double precision') return Number(text);
  if (pgType === 'bytea') return Buffer.from(text.slice(2), 'hex').toString('base64');
  if (pgType.startsWith('timestamp')) {
    const [date, time] = text.replace(/[+-]\d\d(:\d\d)?$/, '').split(' ');
    const [clock, fraction = ''] = time!.split('.');
    return `${date}T${clock}.${fraction.padEnd(3, '0').slice(0, 3)}Z`;
  }
  return text;
}

export interface LoggedChange {
  change_id: number;
  table_name: string;
  operation: string;
  primary_key: Json | null;
  /** The row's image in the JSON value format: the after-image, for deletes the before-image. */
  image: Json | null;
  snapshot_id: string | null;
  gtid: string | null;
  row_index: number | null;
  binlog_file: string | null;
}

/**
 * The row changes of one source table in change_id order, each with its image in the JSON value
 * format, from either layout. In the typed layout an image holds every column of the table
 * (columns a row did not have are null) merged with its _unmapped values.
 */
export async function loggedChanges(wh: pg.Client, table: string, where = 'true', layout = LAYOUT): Promise<LoggedChange[]> {
  if (layout === 'jsonb') {
    const result = await wh.query<LoggedChange & { after_image: Json | null; before_image: Json | null; change_id: string }>(
      `select * from raw.shop_changes where table_name = $1 and operation in ('snapshot', 'insert', 'update', 'delete') and (${where}) order by change_id`,
      [table],
    );
    return result.rows.map((r) => ({
      change_id: Number(r.change_id),
      table_name: r.table_name,
      operation: r.operation,
      primary_key: r.primary_key,
      image: r.after_image ?? r.before_image,
      snapshot_id: r.snapshot_id,
      gtid: r.gtid,
      row_index: r.row_index,
      binlog_file: r.binlog_file,
    }));
  }
  if (!(await typedTables(wh)).includes(table)) return [];
  await wh.query("set timezone = 'UTC'; set intervalstyle = 'postgres'");
  const types = await wh.query<{ name: string; pg_type: string }>(
    `select attname as name, format_type(atttypid, atttypmod) as pg_type from pg_attribute
      where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum`,
    [`${typedTableName(table)}`],
  );
  const meta = new Set([
    'change_id',
    'operation',
    'binlog_file',
    'binlog_position',
    'row_index',
    'gtid',
    'snapshot_id',
    'source_committed_at',
    '_loaded_at',
    '_key',
    '_unmapped',
  ]);
  const source = types.rows.filter((c) => !meta.has(c.name));
  const result = await wh.query<Record<string, string | null>>(
    `select change_id::text, operation, row_index::text, gtid, snapshot_id, binlog_file, _key, _unmapped::text${source
      .map((c) => `, ${pg.escapeIdentifier(c.name)}::text`)
      .join('')} from ${typedTableName(table)} as t where (${where}) order by t.change_id`,
  );
  return result.rows.map((r) => {
    const image: Json = {};
    for (const c of source) image[c.name] = jsonValue(r[c.name] ?? null, c.pg_type);
    if (r._unmapped) Object.assign(image, JSON.parse(r._unmapped) as Json);
    return {
      change_id: Number(r.change_id),
      table_name: table,
      operation: r.operation!,
      primary_key: r._key ? (JSON.parse(r._key) as Json) : null,
      image,
      snapshot_id: r.snapshot_id ?? null,
      gtid: r.gtid ?? null,
      row_index: r.row_index === null || r.row_index === undefined ? null : Number(r.row_index),
      binlog_file: r.binlog_file ?? null,
    };
  });
}

/**
 * The typed layout keeps a column a row did not have as null (a column added, or renamed, later):
 * comparisons there treat null and absent alike.
 */
function withoutNulls(row: Json, layout = LAYOUT): Json {
  return layout === 'jsonb' ? row : Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null));
}

/** Current state per primary key, derived from the raw log as the dbt staging layer does. */
export async function derivedState(wh: pg.Client, table: string, layout = LAYOUT): Promise<Map<string, Json>> {
  if (layout === 'typed') {
    const truncate = await wh.query<{ change_id: string }>(
      "select coalesce(max(change_id), 0)::text as change_id from raw.shop_changes where table_name = $1 and operation = 'truncate'",
      [table],
    );
    const latest = new Map<string, LoggedChange>();
    for (const change of await loggedChanges(wh, table, `change_id > ${Number(truncate.rows[0]!.change_id)} and _key is not null`, layout))
      latest.set(keyText(change.primary_key!), change);
    return new Map(
      [...latest].filter(([, change]) => change.operation !== 'delete').map(([key, change]) => [key, withoutNulls(change.image!, layout)]),
    );
  }
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
export async function sourceState(
  source: mysql.Connection,
  table: string,
  primaryKey: string[],
  layout = LAYOUT,
): Promise<Map<string, Json>> {
  await source.query("SET SESSION time_zone = '+00:00'");
  const [[{ db }]] = (await source.query('SELECT DATABASE() AS db')) as unknown as [{ db: string }[]];
  // Read as the ingestor reads a snapshot: UUID and INET6 as the bytes the binlog carries.
  const columns = await sourceColumns(source, db, table);
  const [rows, fields] = (await source.query({
    sql: selectRowsSql((id) => mysql.escapeId(id), db, table, columns),
    dateStrings: true,
    jsonStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
  } as mysql.QueryOptions)) as unknown as [Json[], FieldPacket[]];
  const convert = makeRowConverter(fields.map((f) => ({ name: f.name, typeCode: f.columnType ?? 0 })));
  // A DECIMAL(p,0) and a BIGINT UNSIGNED share numeric(p,0) in the typed layout, which reads back
  // as a number where it is safe: the source side says the same.
  const wholeDecimals = fields.filter((f) => f.columnType === 246 && f.decimals === 0).map((f) => f.name);
  const state = new Map<string, Json>();
  for (const raw of rows) {
    const row = JSON.parse(JSON.stringify(convert(raw))) as Json;
    const key: Json = {};
    for (const column of primaryKey) key[column] = row[column];
    if (layout === 'typed')
      for (const name of wholeDecimals)
        if (typeof row[name] === 'string' && Number.isSafeInteger(Number(row[name]))) row[name] = Number(row[name]);
    state.set(keyText(key), withoutNulls(row, layout));
  }
  return state;
}

export async function changeCounts(wh: pg.Client): Promise<Record<string, number>> {
  const result = await wh.query<{ operation: string; n: string }>(
    `select operation, count(*) as n from ${await changesRelation(wh)} group by operation`,
  );
  return Object.fromEntries(result.rows.map((r) => [r.operation, Number(r.n)]));
}

/** Binlog changes landed twice would share (file, position, row_index); snapshot rows (table, key, snapshot). */
export async function duplicateChanges(wh: pg.Client): Promise<number> {
  const changes = await changesRelation(wh);
  const result = await wh.query<{ n: string }>(
    `select count(*) as n from (
       select 1 from ${changes} where snapshot_id is null and binlog_file is not null
        group by binlog_file, binlog_position, row_index having count(*) > 1
       union all
       select 1 from ${changes} where snapshot_id is not null and operation = 'snapshot'
        group by snapshot_id, table_name, primary_key having count(*) > 1
     ) d`,
  );
  return Number(result.rows[0]!.n);
}
