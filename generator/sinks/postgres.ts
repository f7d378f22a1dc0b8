/**
 * The shop on Postgres (`generate --source-db postgres`): the tables of generator/ddl/postgres.ts
 * in the database of SHOP_PG_URL, each batch in one transaction, in WRITE_ORDER. Inserts are
 * COPY; upserts are COPY into a temporary staging table (not logically replicated) and applied
 * with one INSERT ... ON CONFLICT DO UPDATE per table, the last queued row of a key winning.
 * Every created_at/updated_at comes from the simulation, as in the MariaDB sink.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { ServiceUnavailableError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { copyText } from '../../ingest/shared/copy-text.ts';
import { postgresShopDdl } from '../ddl/postgres.ts';
import { WRITE_ORDER, type Batch } from '../world/batch.ts';
import { COLUMNS, TABLES, updatableColumns, type Row, type TableName } from '../world/rows.ts';
import { redact } from './mariadb.ts';
import type { Sink } from './types.ts';

/** Rows per COPY write: about 64 KB of text for the widest table. */
const ROWS_PER_CHUNK = 256;

export async function connectShopPg(url: string, logger: Logger): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-generator' });
  client.on('error', (error) => logger.error({ err: error }, 'shop Postgres connection error'));
  try {
    await client.connect();
  } catch (error) {
    throw new ServiceUnavailableError(
      `the shop Postgres at ${redact(url)} is not reachable; start it with \`npm run services:up\` or set SHOP_PG_URL`,
      error,
    );
  }
  await client.query("set time zone 'UTC'");
  return client;
}

export async function ensurePgSchema(client: pg.Client, options: { reset: boolean }): Promise<void> {
  if (options.reset) await client.query(`drop table if exists ${[...TABLES].reverse().join(', ')} cascade`);
  for (const statement of postgresShopDdl()) await client.query(statement);
}

export async function pgTableCounts(client: pg.Client): Promise<Record<TableName, number>> {
  const sql = TABLES.map((t) => `select '${t}' as t, count(*)::int as n from ${t}`).join(' union all ');
  const result = await client.query<{ t: TableName; n: number }>(sql);
  return Object.fromEntries(result.rows.map((r) => [r.t, r.n])) as Record<TableName, number>;
}

function field(value: Row[number]): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} to Postgres`);
    return String(value);
  }
  return copyText(value);
}

function* chunks(rows: readonly Row[]): Generator<string> {
  for (let from = 0; from < rows.length; from += ROWS_PER_CHUNK) {
    let text = '';
    for (const row of rows.slice(from, from + ROWS_PER_CHUNK)) text += `${row.map(field).join('\t')}\n`;
    yield text;
  }
}

const staging = (table: TableName) => `shopflow_stage_${table}`;

export class PostgresShopSink implements Sink {
  readonly name = 'postgres';
  readonly #client: pg.Client;
  readonly #staged = new Set<TableName>();

  constructor(client: pg.Client) {
    this.#client = client;
  }

  get client(): pg.Client {
    return this.#client;
  }

  async write(batch: Batch): Promise<void> {
    const c = this.#client;
    try {
      for (const table of batch.upserts.keys()) await this.#ensureStaging(table);
      await c.query('begin');
      for (const { table, kind } of WRITE_ORDER) {
        const rows = (kind === 'insert' ? batch.inserts : batch.upserts).get(table);
        if (!rows || rows.length === 0) continue;
        const columns = COLUMNS[table].join(', ');
        if (kind === 'insert') {
          await this.#copy(`copy ${table} (${columns}) from stdin`, rows);
          continue;
        }
        await this.#copy(`copy ${staging(table)} (${columns}) from stdin`, rows);
        const key = COLUMNS[table][0]!;
        const set = updatableColumns(table)
          .map((col) => `${col} = excluded.${col}`)
          .join(', ');
        await c.query(
          `insert into ${table} (${columns})
           select distinct on (${key}) ${columns} from ${staging(table)} order by ${key}, _seq desc
           on conflict (${key}) do update set ${set}`,
        );
        await c.query(`truncate ${staging(table)}`);
      }
      await c.query('commit');
    } catch (error) {
      await c.query('rollback').catch(() => undefined);
      throw new ShopflowError(
        'SHOPFLOW_GENERATOR_WRITE',
        `writing ${batch.label} to the shop Postgres failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.#client.end();
  }

  async #copy(sql: string, rows: readonly Row[]): Promise<void> {
    await pipeline(Readable.from(chunks(rows)), this.#client.query(copyFrom(sql)));
  }

  async #ensureStaging(table: TableName): Promise<void> {
    if (this.#staged.has(table)) return;
    // Temporary tables are never logically replicated: the CDC stream sees only the upserts.
    await this.#client.query(
      `create temporary table if not exists ${staging(table)} (like ${table} including defaults, _seq bigint generated always as identity)`,
    );
    this.#staged.add(table);
  }
}
