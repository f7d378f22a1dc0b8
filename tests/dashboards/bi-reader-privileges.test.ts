/**
 * Superset and the report connect as bi_reader. It must see marts and nothing else, and must not
 * be able to change anything: not through its grants, and not even after switching its session
 * back to read-write. Checked against Postgres directly, table by table.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl } from '../../lib/config/index.ts';
import { createTestWarehouse } from '../helpers/warehouse.ts';

type Warehouse = Awaited<ReturnType<typeof createTestWarehouse>>;

let warehouse: Warehouse;
let admin: pg.Client;
let reader: pg.Client;

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-test-bi-reader' });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The SQLSTATE a statement fails with, or 'ok'. Each runs in its own transaction so one failure does not poison the next. */
async function sqlstate(client: pg.Client, sql: string, readWrite = false): Promise<string> {
  await client.query('begin');
  try {
    if (readWrite) await client.query('set transaction read write');
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'no-code';
  } finally {
    await client.query('rollback');
  }
}

beforeAll(async () => {
  warehouse = await createTestWarehouse('bi-reader-privileges');
  admin = await connect(warehouse.adminUrl);
  // A mart created the way dbt creates them: by transformer, relying on the default privileges.
  const transformer = await connect(roleUrl(warehouse.config, 'transformer'));
  try {
    await transformer.query(`create table marts.privilege_probe (day date primary key, revenue numeric not null);
      insert into marts.privilege_probe values ('2024-01-01', 10), ('2024-01-02', 20);`);
  } finally {
    await transformer.end();
  }
  reader = await connect(roleUrl(warehouse.config, 'bi_reader'));
});

afterAll(async () => {
  await reader?.end();
  await admin?.end();
  await warehouse?.drop();
});

describe('bi_reader', () => {
  it('is an ordinary login role with no special attributes', async () => {
    const { rows } = await admin.query(
      `select rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication, rolinherit from pg_roles where rolname = 'bi_reader'`,
    );
    expect(rows).toEqual([
      { rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false, rolreplication: false, rolinherit: true },
    ]);
  });

  it('reads tables dbt creates in marts', async () => {
    const { rows } = await reader.query('select sum(revenue)::int as total from marts.privilege_probe');
    expect(rows).toEqual([{ total: 30 }]);
  });

  it('cannot read any table or view outside marts (raw, ingest, ops, dbt work schemas)', async () => {
    const { rows } = await admin.query<{ table_schema: string; table_name: string }>(
      `select table_schema, table_name from information_schema.tables
       where table_schema not in ('pg_catalog', 'information_schema', 'marts') order by 1, 2`,
    );
    // The migrations create these; if none were found the check below would prove nothing.
    expect(rows.map((r) => `${r.table_schema}.${r.table_name}`)).toEqual(
      expect.arrayContaining(['raw.shop_events', 'raw.shop_changes', 'raw.dead_letters', 'ingest.kafka_offsets', 'ops.runs']),
    );
    const readable: string[] = [];
    for (const { table_schema, table_name } of rows) {
      const state = await sqlstate(reader, `select 1 from ${pg.escapeIdentifier(table_schema)}.${pg.escapeIdentifier(table_name)} limit 1`);
      if (state !== '42501') readable.push(`${table_schema}.${table_name} (${state})`);
    }
    expect(readable).toEqual([]);
  });

  it('runs every session read-only, so a write fails even before privileges are checked', async () => {
    const { rows } = await reader.query('show default_transaction_read_only');
    expect(rows[0]).toEqual({ default_transaction_read_only: 'on' });
    expect(await sqlstate(reader, `insert into marts.privilege_probe values ('2024-01-03', 1)`)).toBe('25006');
    expect(await sqlstate(reader, 'create temporary table scratch (x int)')).toBe('25006');
  });

  it.each([
    ['insert into a mart', `insert into marts.privilege_probe values ('2024-01-03', 1)`],
    ['update a mart', 'update marts.privilege_probe set revenue = 0'],
    ['delete from a mart', 'delete from marts.privilege_probe'],
    ['truncate a mart', 'truncate marts.privilege_probe'],
    ['drop a mart', 'drop table marts.privilege_probe'],
    ['alter a mart', 'alter table marts.privilege_probe add column x int'],
    ['create a table in marts', 'create table marts.intruder (x int)'],
    ['create a table in public', 'create table public.intruder (x int)'],
    ['create a schema', 'create schema intruder'],
    ['insert into raw', `insert into raw.dead_letters default values`],
    ['write the run ledger', `delete from ops.runs`],
  ])('cannot %s even in a read-write transaction', async (_what, sql) => {
    expect(await sqlstate(reader, sql, true)).toBe('42501');
  });

  it('leaves the data unchanged after all those attempts', async () => {
    const { rows } = await admin.query('select count(*)::int as n, sum(revenue)::int as total from marts.privilege_probe');
    expect(rows).toEqual([{ n: 2, total: 30 }]);
  });
});
