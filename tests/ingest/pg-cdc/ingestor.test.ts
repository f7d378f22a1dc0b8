/**
 * The Postgres CDC ingestor end to end against the real shop Postgres and warehouse: a generated
 * shop snapshotted, then inserts, updates, deletes, ADD COLUMN, a new table and TRUNCATE
 * streamed; after each step the state rebuilt from raw_shop equals the source table row for row,
 * nothing lands twice, and a value read by the snapshot and the same value streamed give the
 * same typed columns.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { parseGenerateArgs } from '../../../generator/args.ts';
import { runGenerate } from '../../../generator/run.ts';
import { TABLES } from '../../../generator/world/rows.ts';
import { readPosition } from '../../../ingest/cdc/positions.ts';
import { typedTableColumns } from '../../../ingest/cdc/typed-tables.ts';
import { fastSnapshotSql } from '../../../ingest/pg-cdc/snapshot-copy.ts';
import { connectSource, pgSourceFromUrl, publishedTables } from '../../../ingest/pg-cdc/source.ts';
import { createLogger } from '../../../lib/logger.ts';
import { createPgCdcEnv, derivedRows, duplicateChanges, runUntilIdle, sourceRows, type PgCdcTestEnv } from './helpers.ts';

let env: PgCdcTestEnv;

/** Source and rebuilt state agree for `table`, and the table is not empty (a comparison of nothing proves nothing). */
async function expectSameRows(table: string, key: string[], options: { allowEmpty?: boolean } = {}): Promise<void> {
  const [source, derived] = await Promise.all([sourceRows(env.shop, table), derivedRows(env.wh, table, key)]);
  if (!options.allowEmpty) expect(source.size, `${table} has rows`).toBeGreaterThan(0);
  expect(derived, table).toEqual(source);
}

const KEYS: Record<string, string[]> = {
  customers: ['customer_id'],
  products: ['product_id'],
  inventory: ['product_id'],
  orders: ['order_id'],
  order_items: ['order_item_id'],
  payments: ['payment_id'],
  restocks: ['restock_id'],
};

const KINDS_DDL = `create table kinds (
  id int primary key, small smallint, big bigint, price numeric(12,2), free numeric, f4 real, f8 double precision,
  flag boolean, day date, at timestamp(3), at6 timestamp, atz timestamptz, name varchar(20), code char(3), body text,
  doc jsonb, uid uuid, span interval, raw bytea)`;
const KINDS_VALUES = `(-32768, 9007199254740993, 12345678.99, 3.14159265358979323846, 1.1, 0.1, true, '2024-02-29',
  '2024-02-29 23:59:59.123', '2024-02-29 23:59:59.123456', '2024-03-01 01:30:00.5+02', 'tab\there', 'ab', 'line
two \\ back', '{"b": 1, "a": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day 02:03:04', '\\xdeadbeef00')`;

/** Values the typed columns cannot hold (they go to _unmapped as text) and a key JSON must escape. */
const MISFITS_DDL =
  'create table misfits (code text primary key, n numeric(10,2), u numeric, f float8, d date, t timestamp(3), tz timestamptz, flag boolean)';
const MISFITS_VALUES = `'NaN', '-Infinity', 'Infinity', 'infinity', '0044-03-15 12:00:00 BC', '-infinity', false)`;
const MISFIT_KEYS = ['tab\there "quoted" \\ é', 'streamed "2"'];

beforeAll(async () => {
  env = await createPgCdcEnv('pg_cdc_e2e', { withSchema: false });
  const argv = ['--from', '2024-03-01', '--to', '2024-03-07', '--customers', '40', '--products', '20', '--orders', '120', '--seed', '9'];
  const parsed = parseGenerateArgs([...argv, '--sinks', 'mariadb', '--source-db', 'postgres', '--quiet'], Date.now(), env.config.dataDir);
  if (parsed === 'help') throw new Error('unexpected help');
  await runGenerate(parsed, env.config, createLogger('pg-cdc-test-generator', 'warn'));
  await env.shop.query(KINDS_DDL);
  await env.shop.query(`insert into kinds values (1, ${KINDS_VALUES.slice(1)}`);
  await env.shop.query(MISFITS_DDL);
  await env.shop.query(`insert into misfits values ($1, ${MISFITS_VALUES}`, [MISFIT_KEYS[0]]);
}, 120_000);

afterAll(async () => {
  await env?.drop();
});

describe('ingest:pg-cdc', () => {
  it('snapshots every table of the generated shop exactly', async () => {
    const summary = await runUntilIdle(env);
    expect(summary.snapshotRows).toBeGreaterThan(300);
    for (const table of TABLES) await expectSameRows(table, KEYS[table]!, { allowEmpty: table === 'restocks' });
    const position = await readPosition(env.wh, `postgres:${env.shop.database}:${env.shop.slot}`);
    expect(position?.snapshotState).toBe('done');
    expect(await duplicateChanges(env.wh)).toBe(0);
  });

  it('streams inserts, updates and deletes in commit order, each once', async () => {
    await env.shop.query("update orders set status = 'paid', updated_at = updated_at + interval '1 second' where order_id % 3 = 0");
    await env.shop.query('begin');
    await env.shop.query('delete from payments where order_id in (select order_id from orders where order_id % 5 = 0)');
    await env.shop.query("update customers set city = 'Lyon', updated_at = updated_at + interval '1 second' where customer_id % 4 = 0");
    await env.shop.query('commit');
    await env.shop.query(
      `insert into restocks (product_id, quantity, unit_cost, received_at, created_at, updated_at)
       select product_id, 10, 2.50, '2024-03-08 10:00:00', '2024-03-08 10:00:00', '2024-03-08 10:00:00' from products`,
    );
    // A key updated twice in one transaction: the later image wins.
    await env.shop.query(
      'begin; update products set price = price + 1 where product_id = 1; update products set price = 99.99 where product_id = 1; commit',
    );
    await env.shop.query(`insert into kinds values (2, ${KINDS_VALUES.slice(1)}`);
    await env.shop.query(`insert into misfits values ($1, ${MISFITS_VALUES}`, [MISFIT_KEYS[1]]);
    const summary = await runUntilIdle(env);
    expect(summary.snapshotRows).toBe(0);
    expect(summary.changes).toBeGreaterThan(0);
    for (const table of ['orders', 'payments', 'customers', 'restocks', 'products']) await expectSameRows(table, KEYS[table]!);
    const price = await env.wh.query<{ price: string }>(
      'select price::text from raw_shop.products where _key = \'{"product_id":1}\' order by change_id desc limit 1',
    );
    expect(price.rows[0]!.price).toBe('99.99');
    expect(await duplicateChanges(env.wh)).toBe(0);
  });

  it('gives a row read by the snapshot and the same row streamed the same typed columns', async () => {
    await expectSameRows('kinds', ['id']);
    const rows = await env.wh.query<Record<string, string | null>>('select * from raw_shop.kinds order by id');
    expect(rows.rows.map((r) => r.operation)).toEqual(['snapshot', 'insert']);
    const strip = (r: Record<string, string | null>) => {
      const {
        id: _id,
        change_id: _c,
        operation: _o,
        binlog_file: _f,
        binlog_position: _p,
        row_index: _r,
        gtid: _g,
        snapshot_id: _s,
        source_committed_at: _t,
        _loaded_at: _l,
        _key: _k,
        ...rest
      } = r;
      return rest;
    };
    expect(strip(rows.rows[1]!)).toEqual(strip(rows.rows[0]!));
    expect(rows.rows[0]!._unmapped).toBeNull();
    const types = await env.wh.query<{ name: string; type: string }>(
      `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
        where attrelid = 'raw_shop.kinds'::regclass and attname in ('flag', 'at', 'at6', 'price', 'raw', 'doc') order by attname`,
    );
    expect(Object.fromEntries(types.rows.map((r) => [r.name, r.type]))).toEqual({
      at: 'timestamp(3) without time zone',
      at6: 'timestamp(6) without time zone',
      doc: 'text',
      flag: 'bigint',
      price: 'numeric(12,2)',
      raw: 'bytea',
    });
  });

  it('sends what the typed columns cannot hold to _unmapped and writes the key JSON alike, by snapshot and by stream', async () => {
    const rows = await env.wh.query<Record<string, unknown>>(
      'select operation, _key, _unmapped, n, u, f, d, t, tz, flag::text as flag from raw_shop.misfits order by change_id',
    );
    expect(rows.rows.map((r) => r.operation)).toEqual(['snapshot', 'insert']);
    const unmapped = { n: 'NaN', u: '-Infinity', f: 'Infinity', d: 'infinity', t: '0044-03-15 12:00:00 BC', tz: '-infinity' };
    for (const [i, row] of rows.rows.entries()) {
      expect(row._key).toBe(JSON.stringify({ code: MISFIT_KEYS[i] }));
      expect(row).toMatchObject({ _unmapped: unmapped, n: null, u: null, f: null, d: null, t: null, tz: null, flag: '0' });
    }
    // Both tables were snapshotted by the server-side fast path, which the comparisons above hold to the converter's result.
    const source = pgSourceFromUrl(env.config.SHOP_PG_URL, env.config.PG_CDC_SLOT, env.config.PG_CDC_PUBLICATION);
    const client = await connectSource(source, 'pg-cdc-test');
    await client.connect();
    onTestFinished(() => client.end());
    const tables = (await publishedTables(client, source)).filter((t) => t.name === 'kinds' || t.name === 'misfits');
    const typed = await typedTableColumns(env.wh, ['kinds', 'misfits']);
    expect(tables.map((t) => fastSnapshotSql('public', t, typed.get(t.name)!) !== null)).toEqual([true, true]);
  });

  it('follows ADD COLUMN and a new table from the Relation messages, and logs the change', async () => {
    await env.shop.query('alter table restocks add column supplier_note text');
    await env.shop.query(
      `insert into restocks (product_id, quantity, unit_cost, received_at, created_at, updated_at, supplier_note)
       values (1, 3, 1.25, '2024-03-09 08:00:00', '2024-03-09 08:00:00', '2024-03-09 08:00:00', 'late, sorry')`,
    );
    await env.shop.query(
      'create table gift_cards (gift_card_id bigint primary key, balance numeric(10,2) not null, issued_at timestamp(3) not null)',
    );
    await env.shop.query("insert into gift_cards values (1, 25.00, '2024-03-09 09:00:00'), (2, 50.00, '2024-03-09 09:05:00')");
    await env.shop.query('update gift_cards set balance = 10.00 where gift_card_id = 2');
    await runUntilIdle(env);
    await expectSameRows('restocks', ['restock_id']);
    await expectSameRows('gift_cards', ['gift_card_id']);
    const logged = await env.wh.query<{ ddl: string }>(
      "select ddl from raw.shop_changes where table_name = 'restocks' and operation = 'schema_change'",
    );
    expect(logged.rows.map((r) => r.ddl)).toEqual([expect.stringContaining('added supplier_note text')]);
    expect(await duplicateChanges(env.wh)).toBe(0);
  });

  it('logs TRUNCATE, after which the rebuilt table is empty, and takes rows again after it', async () => {
    await env.shop.query('truncate gift_cards');
    await env.shop.query("insert into gift_cards values (7, 5.00, '2024-03-10 09:00:00')");
    await runUntilIdle(env);
    const truncates = await env.wh.query("select 1 from raw.shop_changes where table_name = 'gift_cards' and operation = 'truncate'");
    expect(truncates.rowCount).toBe(1);
    await expectSameRows('gift_cards', ['gift_card_id']);
    expect((await derivedRows(env.wh, 'gift_cards', ['gift_card_id'])).size).toBe(1);
  });

  it('a restart with nothing new lands nothing', async () => {
    const summary = await runUntilIdle(env);
    expect(summary).toMatchObject({ snapshotRows: 0, changes: 0 });
  });
});
