/**
 * A Postgres shop database per test file, on the shop server (SHOP_PG_URL, wal_level=logical),
 * with the shop schema (generator/ddl/postgres.ts) unless asked otherwise. Replication slots and
 * publications belong to the database, but slot names are server-wide: each test database gets
 * its own slot name, and drop() removes the slot first (a database with a slot cannot be dropped).
 */
import pg from 'pg';

import type { Config } from '../../lib/config/index.ts';
import { postgresShopDdl } from '../../generator/ddl/postgres.ts';
import { testConfig, sanitizeLabel, uniqueSuffix } from './config.ts';
import { hasFailed, reportKept } from './failures.ts';
import { testEndpoints } from './services.ts';

export interface TestShopPg {
  database: string;
  /** postgres:// URL of this database (the superuser of the shop server). */
  url: string;
  /** The slot name the ingestor uses for this database. */
  slot: string;
  /** SHOP_PG_URL, PG_CDC_SLOT and PG_CDC_PUBLICATION point at this database. */
  config: Config;
  /** A client on this database (closed by drop()). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-test' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function createTestShopPg(label: string, options: { withSchema?: boolean } = {}): Promise<TestShopPg> {
  const adminUrl = testEndpoints().shopPgAdminUrl;
  const suffix = uniqueSuffix();
  const database = `t_${sanitizeLabel(label, 40)}_${suffix}`;
  const slot = `t_${sanitizeLabel(label, 30)}_${suffix}`;
  await withClient(adminUrl, (c) => c.query(`create database ${pg.escapeIdentifier(database)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString(), application_name: 'shopflow-test' });
  client.on('error', () => undefined);
  await client.connect();
  await client.query("set time zone 'UTC'");
  if (options.withSchema ?? true) for (const statement of postgresShopDdl()) await client.query(statement);
  let dropped = false;
  return {
    database,
    url: url.toString(),
    slot,
    config: testConfig({ SHOP_PG_URL: url.toString(), PG_CDC_SLOT: slot, PG_CDC_PUBLICATION: 'shopflow_cdc' }),
    query: (sql, params) => client.query(sql, params),
    async drop() {
      if (dropped) return;
      dropped = true;
      await client.end().catch(() => undefined);
      if (hasFailed()) {
        reportKept(`shop Postgres database ${database} (slot ${slot})`, `psql ${url.toString()}`);
        return;
      }
      await withClient(adminUrl, async (c) => {
        // The ingestor's walsender may still be going away: wait for the slot to be released.
        for (let i = 0; i < 50; i++) {
          const active = await c.query('select active_pid from pg_replication_slots where slot_name = $1', [slot]);
          const pid = active.rows[0]?.active_pid as number | null | undefined;
          if (active.rowCount === 0) break;
          if (pid === null) {
            await c.query('select pg_drop_replication_slot($1)', [slot]);
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        await c.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
      });
    },
  };
}
