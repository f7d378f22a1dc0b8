/**
 * Unusual but legal source writes, each done as a DBA would (plain SQL on its own MariaDB
 * session), each ending with the state derived from raw.shop_changes equal to the source table
 * row for row. Before these, an XA ROLLBACK's rows landed, a primary-key change left the old key
 * alive, DROP + CREATE left ghost rows, RENAME lost the rows under the new name, zero dates broke
 * the staging casts, and a NUL dead letter kept no payload, table or key.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  changesRelation,
  createCdcEnv,
  derivedState,
  duplicateChanges,
  keyText,
  LAYOUT,
  loggedChanges,
  runUntilIdle,
  sourceState,
  type CdcTestEnv,
} from '../helpers.ts';

let env: CdcTestEnv;
// Names MariaDB allows and Postgres cannot hold as they are (63 bytes at most): 64 characters,
// two that differ only in their last one, and 22 characters of 3 bytes each.
const LONG_SNAPSHOT = 's'.repeat(64);
const LONG_ONE = `${'t'.repeat(63)}1`;
const LONG_TWO = `${'t'.repeat(63)}2`;
const LONG_WIDE = '表'.repeat(22);
const sessions: mysql.Connection[] = [];

/** A separate client session, as a second application or a DBA's console would be. */
async function session(): Promise<mysql.Connection> {
  const connection = await mysql.createConnection({ uri: env.shop.url, multipleStatements: true });
  connection.on('error', () => undefined);
  sessions.push(connection);
  return connection;
}

async function expectSameState(table: string, primaryKey: string[]): Promise<void> {
  expect(await derivedState(env.wh, table)).toEqual(await sourceState(env.source, table, primaryKey));
}

async function ingest(): Promise<void> {
  expect((await runUntilIdle(env)).end).toBe('idle');
}

beforeAll(async () => {
  env = await createCdcEnv('cdc_input');
  await env.source.query(`SET SESSION sql_mode = '';
    CREATE TABLE xa_t (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL);
    CREATE TABLE pk_t (id INT PRIMARY KEY, sku VARCHAR(20) NOT NULL UNIQUE, qty INT NOT NULL);
    CREATE TABLE pk2_t (shop_id INT NOT NULL, line INT NOT NULL, qty INT NOT NULL, PRIMARY KEY (shop_id, line));
    CREATE TABLE drop_t (id INT PRIMARY KEY, v VARCHAR(20));
    CREATE TABLE ren_a (id INT PRIMARY KEY, v VARCHAR(20));
    CREATE TABLE swap_x (id INT PRIMARY KEY, v VARCHAR(20));
    CREATE TABLE swap_y (id INT PRIMARY KEY, v VARCHAR(20));
    CREATE TABLE dates_t (id INT PRIMARY KEY, d DATE NULL, dt DATETIME NULL, ts TIMESTAMP NULL DEFAULT NULL);
    CREATE TABLE col_t (id INT PRIMARY KEY, note VARCHAR(40) NULL, price DECIMAL(12,2) NOT NULL);
    CREATE TABLE nul_t (id VARCHAR(10) PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE ${LONG_SNAPSHOT} (id INT PRIMARY KEY, v VARCHAR(20));
    INSERT INTO ${LONG_SNAPSHOT} VALUES (1, 'snap one'), (2, 'snap two');
    INSERT INTO pk_t VALUES (1, 'A', 1), (2, 'B', 2), (3, 'C', 3);
    INSERT INTO pk2_t VALUES (1, 1, 10), (1, 2, 20);
    INSERT INTO drop_t VALUES (1, 'old one'), (2, 'old two'), (3, 'old three');
    INSERT INTO ren_a VALUES (1, 'a1'), (2, 'a2');
    INSERT INTO swap_x VALUES (1, 'x1');
    INSERT INTO swap_y VALUES (1, 'y1'), (2, 'y2');
    INSERT INTO dates_t VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'), (2, '2024-00-15', '2024-00-15 10:00:00', NULL), (3, '2024-02-29', '2024-02-29 10:00:00', '2024-02-29 10:00:00');
    INSERT INTO col_t VALUES (1, 'first', 1.50), (2, 'second', 2.25);
    INSERT INTO nul_t VALUES (CONCAT('k', CHAR(0)), CONCAT('snap', CHAR(0), 'shot'))`);
  await ingest();
});

afterAll(async () => {
  for (const connection of sessions) await connection.end().catch(() => undefined);
  if (env) expect(await duplicateChanges(env.wh)).toBe(0);
  await env?.drop();
});

describe('CDC input that is legal on the source', () => {
  it('lands an XA transaction on XA COMMIT, drops it on XA ROLLBACK, and keeps a prepared one across restarts', async () => {
    const app = await session();
    const other = await session();
    await app.query("XA START 'order-41'; INSERT INTO xa_t VALUES (1, 'two-phase, committed'); XA END 'order-41'; XA PREPARE 'order-41'");
    await other.query(
      "XA START 'order-42'; INSERT INTO xa_t VALUES (2, 'two-phase, rolled back'); XA END 'order-42'; XA PREPARE 'order-42'; XA ROLLBACK 'order-42'",
    );
    await env.source.query(
      "INSERT INTO xa_t VALUES (3, 'plain, while 41 is prepared'); XA START 'order-43'; INSERT INTO xa_t VALUES (4, 'one phase'); XA END 'order-43'; XA COMMIT 'order-43' ONE PHASE",
    );
    await ingest();
    // 41 is prepared, not committed: the source shows rows 3 and 4 only, and so must the log.
    await expectSameState('xa_t', ['id']);
    const held = await env.wh.query('select xid from ingest.cdc_xa_prepared');
    expect(held.rows).toEqual([{ xid: "X'6F726465722D3431',X'',1" }]);
    await app.query("XA COMMIT 'order-41'");
    // A new ingestor process: the prepared rows come from the warehouse, not from memory.
    await ingest();
    await expectSameState('xa_t', ['id']);
    expect((await env.wh.query('select count(*)::int as n from ingest.cdc_xa_prepared')).rows[0].n).toBe(0);
    const landed = await loggedChanges(env.wh, 'xa_t');
    expect(landed.map((c) => c.image!.id)).toEqual([3, 4, 1]);
  });

  it('turns an UPDATE of the primary key into a delete of the old key and an insert of the new one', async () => {
    await env.source.query(
      "UPDATE pk_t SET id = id + 100 WHERE id <= 2; UPDATE pk_t SET id = 7, qty = 70 WHERE sku = 'C'; UPDATE pk2_t SET line = line + 10 WHERE shop_id = 1",
    );
    await ingest();
    await expectSameState('pk_t', ['id']);
    await expectSameState('pk2_t', ['shop_id', 'line']);
    const ops = await env.wh.query<{ operation: string; n: number }>(
      `select operation, count(*)::int as n from ${await changesRelation(env.wh)} where table_name = 'pk_t' and snapshot_id is null group by operation order by operation`,
    );
    expect(ops.rows).toEqual([
      { operation: 'delete', n: 3 },
      { operation: 'insert', n: 3 },
    ]);
  });

  it('treats DROP TABLE as the end of its rows: re-created under the same name, no ghost rows', async () => {
    await env.source.query(
      "INSERT INTO drop_t VALUES (4, 'old four'); DROP TABLE drop_t; CREATE TABLE drop_t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO drop_t VALUES (2, 'new two'), (9, 'new nine')",
    );
    await ingest();
    await expectSameState('drop_t', ['id']);
    await env.source.query("CREATE OR REPLACE TABLE drop_t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO drop_t VALUES (5, 'replaced')");
    await ingest();
    await expectSameState('drop_t', ['id']);
  });

  it('continues the rows of a renamed table under its new name (RENAME TABLE, ALTER ... RENAME, a swap)', async () => {
    await env.source.query(`INSERT INTO ren_a VALUES (3, 'a3'); DELETE FROM ren_a WHERE id = 2;
      RENAME TABLE ren_a TO ren_b; INSERT INTO ren_b VALUES (4, 'b4'); UPDATE ren_b SET v = 'b1' WHERE id = 1;
      ALTER TABLE ren_b RENAME TO ren_c; UPDATE ren_c SET v = 'c3' WHERE id = 3;
      RENAME TABLE swap_x TO swap_tmp, swap_y TO swap_x, swap_tmp TO swap_y`);
    await ingest();
    expect((await derivedState(env.wh, 'ren_a')).size).toBe(0);
    expect((await derivedState(env.wh, 'ren_b')).size).toBe(0);
    expect((await derivedState(env.wh, 'swap_tmp')).size).toBe(0);
    await expectSameState('ren_c', ['id']);
    await expectSameState('swap_x', ['id']);
    await expectSameState('swap_y', ['id']);
  });

  it('lands zero and partial zero dates as null, keeps the raw value in a warning dead letter, and every value still casts', async () => {
    const lax = await session();
    await lax.query(
      "SET SESSION sql_mode = ''; INSERT INTO dates_t VALUES (4, '2023-00-00', '2023-11-00 08:00:00', '0000-00-00 00:00:00'), (5, '2023-05-06', '0000-01-01 00:00:00', '2023-05-06 07:08:09'); UPDATE dates_t SET dt = '2024-13-01 00:00:00' WHERE id = 3",
    );
    await ingest();
    await expectSameState('dates_t', ['id']);
    const letters = await env.wh.query<{ error_code: string; payload: Buffer; details: Record<string, unknown> }>(
      "select error_code, payload, details from raw.dead_letters where error_code = 'CDC_INVALID_DATE' order by dead_letter_id",
    );
    const seen = letters.rows.map(
      (r) => `${String((r.details.primary_key as { id: number }).id)}.${String(r.details.column)}=${r.payload.toString('utf8')}`,
    );
    expect(seen).toEqual(
      expect.arrayContaining([
        '1.d=0000-00-00',
        '1.dt=0000-00-00 00:00:00',
        '2.d=2024-00-15',
        '2.dt=2024-00-15 10:00:00',
        '4.d=2023-00-00',
        '4.dt=2023-11-00 08:00:00',
        '5.dt=0000-01-01 00:00:00',
      ]),
    );
    // One letter per value: a row's letters never repeat another row's.
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.every((letter) => /^[1-5]\.(d|dt|ts)=/.test(letter))).toBe(true);
    expect(letters.rows.every((r) => r.details.table === 'dates_t' && r.details.raw_value === r.payload.toString('utf8'))).toBe(true);
    // What the staging models do with these columns: cast every image's value (the typed layout
    // holds them in date and timestamp columns already).
    const casts = await env.wh.query(
      LAYOUT === 'jsonb'
        ? "select (after_image->>'d')::date, (after_image->>'dt')::timestamptz, (after_image->>'ts')::timestamptz from raw.shop_changes where table_name = 'dates_t' and after_image is not null"
        : "select d::date, dt::timestamptz, ts::timestamptz from raw_shop.dates_t where operation <> 'delete'",
    );
    expect(casts.rowCount).toBeGreaterThan(5);
  });

  it('carries a column rename and a DECIMAL scale change into the images of every row changed after them', async () => {
    await env.source.query(`ALTER TABLE col_t RENAME COLUMN note TO remark; UPDATE col_t SET price = 1.75 WHERE id = 1;
      ALTER TABLE col_t MODIFY price DECIMAL(14,4) NOT NULL; UPDATE col_t SET price = 2.1234 WHERE id = 2; INSERT INTO col_t VALUES (3, 'third', 3.5678)`);
    await ingest();
    const images = (await loggedChanges(env.wh, 'col_t', "operation in ('update', 'insert')")).map((c) =>
      // The typed layout keeps the renamed-away column (null from the rename on), and widens
      // price to the new scale, so the value before it reads back at that scale.
      LAYOUT === 'jsonb' ? c.image : Object.fromEntries(Object.entries(c.image!).filter(([, v]) => v !== null)),
    );
    expect(images).toEqual([
      { id: 1, remark: 'first', price: LAYOUT === 'jsonb' ? '1.75' : '1.7500' },
      { id: 2, remark: 'second', price: '2.1234' },
      { id: 3, remark: 'third', price: '3.5678' },
    ]);
    await expectSameState('col_t', ['id']);
  });

  it('logs tables whose names Postgres cannot hold, each in its own relation, without stopping the others', async () => {
    await env.source.query(`CREATE TABLE ${LONG_ONE} (id INT PRIMARY KEY, v VARCHAR(20));
      CREATE TABLE ${LONG_TWO} (id INT PRIMARY KEY, v VARCHAR(20));
      CREATE TABLE ${LONG_WIDE} (id INT PRIMARY KEY, v VARCHAR(20));
      INSERT INTO ${LONG_ONE} VALUES (1, 'one'), (2, 'one too'); INSERT INTO ${LONG_TWO} VALUES (1, 'two');
      INSERT INTO ${LONG_WIDE} VALUES (7, 'wide'); UPDATE ${LONG_SNAPSHOT} SET v = 'binlog two' WHERE id = 2;
      ALTER TABLE ${LONG_ONE} ADD COLUMN note VARCHAR(10) NULL; UPDATE ${LONG_ONE} SET note = 'added' WHERE id = 1;
      DELETE FROM ${LONG_TWO} WHERE id = 1; INSERT INTO ${LONG_TWO} VALUES (3, 'two again'); INSERT INTO pk_t VALUES (50, 'LN', 5)`);
    await ingest();
    for (const table of [LONG_SNAPSHOT, LONG_ONE, LONG_TWO, LONG_WIDE]) await expectSameState(table, ['id']);
    await expectSameState('pk_t', ['id']);
    if (LAYOUT === 'typed') {
      const named = await env.wh.query<{ relation_name: string; source_table: string }>(
        'select relation_name, source_table from ingest.cdc_typed_table_sources order by source_table',
      );
      expect(named.rows.map((r) => r.source_table).sort()).toEqual([LONG_SNAPSHOT, LONG_ONE, LONG_TWO, LONG_WIDE].sort());
      for (const { relation_name: relation } of named.rows) expect(Buffer.byteLength(relation)).toBeLessThanOrEqual(63);
      expect(new Set(named.rows.map((r) => r.relation_name)).size).toBe(4);
      // Each relation has its own load-time index, none cut short by Postgres.
      const indexes = await env.wh.query<{ n: number }>(
        `select count(distinct i.indrelid)::int as n from pg_index i join pg_class c on c.oid = i.indexrelid
          where c.relname like '%_loaded_at_brin' and i.indrelid::regclass::text like any (array(
            select 'raw_shop.' || quote_ident(relation_name) from ingest.cdc_typed_table_sources))`,
      );
      expect(indexes.rows[0]!.n).toBe(4);
    }
  });

  it('keeps the payload, table and key of a NUL-in-text dead letter, from the snapshot and from the binlog', async () => {
    await env.source.query("INSERT INTO nul_t VALUES ('k2', CONCAT('bin', CHAR(0), 'log'))");
    await ingest();
    const letters = await env.wh.query<{ payload: Buffer; details: Record<string, unknown>; source_position: string }>(
      "select payload, details, source_position from raw.dead_letters where error_code = 'CDC_NUL_IN_TEXT' order by dead_letter_id",
    );
    expect(letters.rows.map((r) => [r.details.table, r.details.primary_key, JSON.parse(r.payload.toString('utf8')) as unknown])).toEqual([
      ['nul_t', { id: 'k\ufffd' }, { id: 'k\u0000', body: 'snap\u0000shot' }],
      ['nul_t', { id: 'k2' }, { id: 'k2', body: 'bin\u0000log' }],
    ]);
    expect(letters.rows.every((r) => r.source_position.length > 0)).toBe(true);
    // jsonb cannot hold U+0000: the derived rows are the source rows with U+FFFD in its place.
    const fffd = (value: unknown) => String(value).replaceAll('\u0000', '\ufffd');
    const replaced = new Map(
      [...(await sourceState(env.source, 'nul_t', ['id'])).values()].map((row) => [
        keyText({ id: fffd(row.id) }),
        { id: fffd(row.id), body: fffd(row.body) },
      ]),
    );
    expect(await derivedState(env.wh, 'nul_t')).toEqual(replaced);
  });
});
