/**
 * Shared pieces of the Postgres CDC tests: a shop database (with its own slot) and a warehouse
 * per test file, the ingestor run in-process or as a real child process (to kill -9), and the
 * comparison the tests rest on: each source table's rows against the current state rebuilt from
 * raw_shop (latest change per key after the table's last truncate, deletes removed, as dbt
 * staging derives it), both read as text, column by column.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import pg from 'pg';

import { PgCdcIngestor, type PgCdcSummary } from '../../../ingest/pg-cdc/ingestor.ts';
import { ROOT_DIR, type Config } from '../../../lib/config/index.ts';
import { createLogger } from '../../../lib/logger.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestShopPg, type TestShopPg } from '../../helpers/shop-pg.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';

export interface PgCdcTestEnv {
  shop: TestShopPg;
  warehouse: TestWarehouse;
  config: Config;
  /** Superuser client of the test's warehouse database. */
  wh: pg.Client;
  drop(): Promise<void>;
}

export async function createPgCdcEnv(label: string, options: { withSchema?: boolean } = {}): Promise<PgCdcTestEnv> {
  const shop = await createTestShopPg(label, { withSchema: options.withSchema ?? true });
  const warehouse = await createTestWarehouse(label);
  const config = testConfig({
    SHOP_PG_URL: shop.url,
    PG_CDC_SLOT: shop.slot,
    WAREHOUSE_URL: warehouse.adminUrl,
    INGEST_BATCH_MAX_MS: '100',
  });
  const wh = new pg.Client({ connectionString: warehouse.adminUrl });
  wh.on('error', () => undefined);
  await wh.connect();
  return {
    shop,
    warehouse,
    config,
    wh,
    async drop() {
      await wh.end().catch(() => undefined);
      await shop.drop();
      await warehouse.drop();
    },
  };
}

export function runUntilIdle(env: PgCdcTestEnv, idleMs = 500): Promise<PgCdcSummary> {
  return new PgCdcIngestor({
    config: env.config,
    logger: createLogger('ingest-pg-cdc-test', process.env.LOG_LEVEL ?? 'warn'),
    untilIdleMs: idleMs,
    retry: { minDelayMs: 100, maxDelayMs: 1_000, maxUnknownFailures: 2 },
  }).run();
}

type TextRow = Record<string, string>;

async function columnsOf(client: pg.Client, relation: string): Promise<{ name: string; type: string }[]> {
  const result = await client.query<{ name: string; type: string }>(
    `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
      where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum`,
    [relation],
  );
  return result.rows;
}

async function primaryKey(client: pg.Client, table: string): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `select a.attname as name from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])
      where i.indrelid = $1::regclass and i.indisprimary order by array_position(i.indkey::int2[], a.attnum)`,
    [table],
  );
  return result.rows.map((r) => r.name);
}

function textSelect(columns: { name: string }[]): string {
  return columns.map((c) => `${pg.escapeIdentifier(c.name)}::text as ${pg.escapeIdentifier(c.name)}`).join(', ');
}

function withoutNulls(row: Record<string, string | null>): TextRow {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null)) as TextRow;
}

/** The source table's rows by primary key (text of the key columns), non-null columns as text. */
export async function sourceRows(shop: TestShopPg, table: string): Promise<Map<string, TextRow>> {
  const client = new pg.Client({ connectionString: shop.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query("set time zone 'UTC'");
    const key = await primaryKey(client, table);
    // In the raw layout's text: booleans as 1/0 (as MariaDB's TINYINT(1)), char(n) with its padding (its output text).
    const select = (await columnsOf(client, table))
      .map((c) => {
        const name = pg.escapeIdentifier(c.name);
        const value =
          c.type === 'boolean'
            ? `(${name}::int)::text`
            : c.type.startsWith('character(')
              ? `nullif(concat(${name}), '') `
              : `${name}::text`;
        return `${value} as ${name}`;
      })
      .join(', ');
    const result = await client.query<Record<string, string | null>>(`select ${select} from ${pg.escapeIdentifier(table)}`);
    return new Map(result.rows.map((r) => [key.map((k) => r[k]).join('|'), withoutNulls(r)]));
  } finally {
    await client.end();
  }
}

const META = new Set([
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

/** The current state rebuilt from raw_shop.<table>, keyed and formatted like sourceRows. */
export async function derivedRows(wh: pg.Client, table: string, key: string[]): Promise<Map<string, TextRow>> {
  const exists = await wh.query("select 1 from pg_class where relnamespace = 'raw_shop'::regnamespace and relname = $1", [table]);
  if (exists.rowCount === 0) return new Map();
  await wh.query("set time zone 'UTC'");
  const relation = `raw_shop.${pg.escapeIdentifier(table)}`;
  const columns = (await columnsOf(wh, relation)).filter((c) => !META.has(c.name));
  const result = await wh.query<Record<string, string | null>>(
    `with last_truncate as (
       select coalesce(max(change_id), 0) as change_id from raw.shop_changes where table_name = $1 and operation = 'truncate'
     )
     select distinct on (_key) operation, ${textSelect(columns)}
       from ${relation}
      where change_id > (select change_id from last_truncate)
      order by _key, change_id desc`,
    [table],
  );
  return new Map(
    result.rows
      .filter((r) => r.operation !== 'delete')
      .map((r) => {
        const { operation: _operation, ...row } = r;
        return [key.map((k) => r[k]).join('|'), withoutNulls(row)];
      }),
  );
}

/** Stream changes landed twice would share (commit LSN, row index); snapshot rows (snapshot, key). */
export async function duplicateChanges(wh: pg.Client): Promise<number> {
  const tables = await wh.query<{ name: string }>(
    "select relname as name from pg_class where relnamespace = 'raw_shop'::regnamespace and relkind = 'r'",
  );
  let duplicates = 0;
  for (const { name } of tables.rows) {
    const relation = `raw_shop.${pg.escapeIdentifier(name)}`;
    const result = await wh.query<{ n: string }>(
      `select count(*) as n from (
         select 1 from ${relation} where snapshot_id is null group by binlog_position, row_index having count(*) > 1
         union all
         select 1 from ${relation} where snapshot_id is not null group by snapshot_id, _key having count(*) > 1
       ) d`,
    );
    duplicates += Number(result.rows[0]!.n);
  }
  return duplicates;
}

export interface PgCdcChild {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a log line contains `text`; rejects if the process exits first or on timeout. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/** `npm run ingest:pg-cdc` as a real process (node with tsx as a loader, so the pid is the ingestor's). */
export function spawnPgCdc(config: Config, args: string[] = [], extraEnv: Record<string, string> = {}): PgCdcChild {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    SHOP_PG_URL: config.SHOP_PG_URL,
    PG_CDC_SLOT: config.PG_CDC_SLOT,
    PG_CDC_PUBLICATION: config.PG_CDC_PUBLICATION,
    WAREHOUSE_URL: config.WAREHOUSE_URL,
    WAREHOUSE_INGEST_PASSWORD: config.WAREHOUSE_INGEST_PASSWORD,
    INGEST_BATCH_ROWS: String(config.INGEST_BATCH_ROWS),
    INGEST_BATCH_MAX_MS: String(config.INGEST_BATCH_MAX_MS),
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'ingest', 'pg-cdc', 'cli.ts'), ...args], {
    cwd: ROOT_DIR,
    env,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('error', () => undefined);
  const output: string[] = [];
  const onData = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const waitFor = async (text: string, timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void exited.then(() => (ended = true));
    while (!output.some((line) => line.includes(text))) {
      if (ended) throw new Error(`ingest:pg-cdc exited before printing "${text}":\n${output.slice(-10).join('\n')}`);
      if (Date.now() > deadline)
        throw new Error(`no "${text}" from ingest:pg-cdc within ${timeoutMs} ms:\n${output.slice(-10).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, output, exited, waitFor };
}
