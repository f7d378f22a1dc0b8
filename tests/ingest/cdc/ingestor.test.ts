/**
 * End to end against the real MariaDB and Postgres: snapshot, then binlog, in the raw log's JSON
 * format; the current state derived from raw.shop_changes equals the source row for row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  changeCounts,
  changesRelation,
  createCdcEnv,
  derivedState,
  duplicateChanges,
  LAYOUT,
  loggedChanges,
  runUntilIdle,
  sourceState,
  type CdcTestEnv,
} from './helpers.ts';

const ITEMS_DDL = `CREATE TABLE items (
  item_id     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sku         VARCHAR(32) NOT NULL,
  note        TEXT NULL,
  price       DECIMAL(12,2) NOT NULL,
  ratio       DOUBLE NULL,
  is_active   TINYINT(1) NOT NULL DEFAULT 1,
  big         BIGINT UNSIGNED NULL,
  launched_on DATE NULL,
  placed_at   DATETIME(3) NOT NULL,
  touched_at  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

let env: CdcTestEnv;

beforeAll(async () => {
  env = await createCdcEnv('cdc_e2e');
  await env.source.query(ITEMS_DDL);
  await env.source.query(
    `INSERT INTO items (sku, note, price, ratio, is_active, big, launched_on, placed_at, touched_at) VALUES
      ('A-1', 'tab\\there, newline\\nthere, backslash \\\\ and ünïcødé ✓', 19.99, 0.5, 1, 18446744073709551615, '2026-01-31', '2026-01-31 12:00:00.000', '2026-01-31 12:00:00.123'),
      ('A-2', NULL, 0.10, NULL, 0, 42, NULL, '2020-02-29 23:59:59.999', '2021-06-01 00:00:00'),
      ('A-3', '{"json":"looking"}', 1000000.00, -1.25, 1, NULL, '1999-12-31', '1999-12-31 23:59:59.500', '2000-01-01 00:00:00')`,
  );
});

afterAll(async () => {
  await env?.drop();
});

describe('CDC ingestor', () => {
  it('snapshots every table in the fixed JSON format', async () => {
    const summary = await runUntilIdle(env);
    expect(summary.end).toBe('idle');
    expect(summary.snapshotRows).toBe(3);
    const rows = await loggedChanges(env.wh, 'items', "operation = 'snapshot'");
    expect(rows).toHaveLength(3);
    expect(rows[0]!.primary_key).toEqual({ item_id: 1 });
    expect(rows[0]!.image).toEqual({
      item_id: 1,
      sku: 'A-1',
      note: 'tab\there, newline\nthere, backslash \\ and ünïcødé ✓',
      price: '19.99',
      ratio: 0.5,
      is_active: 1,
      big: '18446744073709551615',
      launched_on: '2026-01-31',
      placed_at: '2026-01-31T12:00:00.000Z',
      touched_at: '2026-01-31T12:00:00.123Z',
    });
    expect(rows[1]!.image).toMatchObject({
      price: '0.10',
      is_active: 0,
      big: 42,
      launched_on: null,
      placed_at: '2020-02-29T23:59:59.999Z',
    });
    expect(rows[0]!.binlog_file).toMatch(/\.\d+$/);
    const position = await env.wh.query('select snapshot_state, binlog_file from ingest.cdc_positions');
    expect(position.rows).toEqual([{ snapshot_state: 'done', binlog_file: rows[0]!.binlog_file }]);
    expect(await derivedState(env.wh, 'items')).toEqual(await sourceState(env.source, 'items', ['item_id']));
  });

  it('follows inserts, updates and deletes from the binlog with the same value format', async () => {
    await env.source.query(`START TRANSACTION;
      INSERT INTO items (sku, note, price, is_active, big, launched_on, placed_at) VALUES ('B-1', 'new', 5.55, 1, 9007199254740993, '2026-02-01', '2026-02-01 08:30:00.250');
      UPDATE items SET price = 21.00, note = 'changed' WHERE sku = 'A-1';
      DELETE FROM items WHERE sku = 'A-2';
      COMMIT`);
    const summary = await runUntilIdle(env);
    expect(summary.snapshotRows).toBe(0);
    expect(summary.changes).toBe(3);
    const rows = await loggedChanges(env.wh, 'items', 'snapshot_id is null');
    expect(rows.map((r) => r.operation)).toEqual(['insert', 'update', 'delete']);
    expect(rows.map((r) => r.row_index)).toEqual([0, 1, 2]);
    expect(new Set(rows.map((r) => r.gtid)).size).toBe(1);
    expect(rows[0]!.image).toMatchObject({
      sku: 'B-1',
      price: '5.55',
      big: '9007199254740993',
      launched_on: '2026-02-01',
      placed_at: '2026-02-01T08:30:00.250Z',
    });
    expect(rows[1]!.image).toMatchObject({ price: '21.00', note: 'changed', big: '18446744073709551615' });
    // The update's before-image: raw.shop_changes keeps it whole; the typed layout keeps the
    // key's previous change (here its snapshot row), which is the same row.
    const before =
      LAYOUT === 'jsonb'
        ? (await env.wh.query("select before_image from raw.shop_changes where operation = 'update'")).rows[0].before_image
        : (await loggedChanges(env.wh, 'items', "operation = 'snapshot'")).find((c) => c.primary_key?.item_id === 1)!.image;
    expect(before).toMatchObject({ price: '19.99', note: 'tab\there, newline\nthere, backslash \\ and ünïcødé ✓' });
    // A delete carries the row as it was before it.
    expect(rows[2]!.image).toMatchObject({ sku: 'A-2' });
    if (LAYOUT === 'jsonb')
      expect((await env.wh.query("select after_image from raw.shop_changes where operation = 'delete'")).rows).toEqual([
        { after_image: null },
      ]);
    expect(await derivedState(env.wh, 'items')).toEqual(await sourceState(env.source, 'items', ['item_id']));
    const lag = await env.wh.query("select count(*)::int as n from ingest.metrics where component = 'cdc' and lag_ms is not null");
    expect(lag.rows[0].n).toBeGreaterThan(0);
  });

  it('keeps flowing through ADD COLUMN, MODIFY COLUMN, a new table, TRUNCATE and DROP, and logs each', async () => {
    await env.source.query(`ALTER TABLE items ADD COLUMN colour VARCHAR(20) NULL AFTER sku;
      INSERT INTO items (sku, colour, price, placed_at) VALUES ('C-1', 'teal', 7.00, '2026-03-01 00:00:00');
      ALTER TABLE items MODIFY COLUMN price DECIMAL(14,4) NOT NULL;
      UPDATE items SET price = 7.1234 WHERE sku = 'C-1';
      CREATE TABLE coupons (code VARCHAR(20) NOT NULL PRIMARY KEY, pct INT NOT NULL);
      INSERT INTO coupons VALUES ('WELCOME', 10), ('VIP', 25);
      CREATE TABLE scratch (id INT PRIMARY KEY);
      INSERT INTO scratch VALUES (1), (2);
      TRUNCATE TABLE scratch;
      INSERT INTO scratch VALUES (3);
      DROP TABLE scratch`);
    const summary = await runUntilIdle(env);
    expect(summary.end).toBe('idle');
    const { rows: ddl } = await env.wh.query<{ table_name: string; operation: string; ddl: string }>(
      "select table_name, operation, ddl from raw.shop_changes where operation in ('schema_change', 'truncate') order by change_id",
    );
    expect(ddl.map((r) => [r.table_name, r.operation])).toEqual([
      ['items', 'schema_change'],
      ['items', 'schema_change'],
      ['coupons', 'schema_change'],
      ['scratch', 'schema_change'],
      ['scratch', 'truncate'],
      // DROP TABLE ends the table's rows: logged as a truncate carrying the DROP statement.
      ['scratch', 'truncate'],
    ]);
    expect(ddl[0]!.ddl).toMatch(/ADD COLUMN colour/);
    expect(ddl[5]!.ddl).toMatch(/DROP TABLE/i);
    const colour = (await loggedChanges(env.wh, 'items', "operation in ('insert', 'update')")).filter((c) => c.image!.sku === 'C-1');
    expect(colour.map((c) => [c.image!.colour, c.image!.price])).toEqual([
      // The typed layout widens the column to the new DECIMAL scale, so the older value reads
      // back at that scale: the same number.
      ['teal', LAYOUT === 'jsonb' ? '7.00' : '7.0000'],
      ['teal', '7.1234'],
    ]);
    // An ALTER rewrites untouched rows without row events: the table is read again after it,
    // so every row carries the new column and the new DECIMAL scale.
    expect(await derivedState(env.wh, 'items')).toEqual(await sourceState(env.source, 'items', ['item_id']));
    expect(await derivedState(env.wh, 'coupons')).toEqual(await sourceState(env.source, 'coupons', ['code']));
    // The truncate ended rows 1 and 2, the DROP ended row 3: nothing of scratch is current.
    const scratchLog = await env.wh.query<{ change_id: string; operation: string }>(
      `select change_id, operation from ${await changesRelation(env.wh)} where table_name = 'scratch'`,
    );
    const ids = new Map((await loggedChanges(env.wh, 'scratch')).map((c) => [c.change_id, c.image!.id]));
    const scratch = scratchLog.rows
      .sort((a, b) => Number(a.change_id) - Number(b.change_id))
      .map((r) => `${r.operation}${(ids.get(Number(r.change_id)) as number | undefined) ?? ''}`);
    expect(scratch).toEqual(['schema_change', 'insert1', 'insert2', 'truncate', 'insert3', 'truncate']);
    expect((await derivedState(env.wh, 'scratch')).size).toBe(0);
    expect(await duplicateChanges(env.wh)).toBe(0);
    expect(await changeCounts(env.wh)).toMatchObject({ truncate: 2 });
    const initial = await env.wh.query(`select count(*)::int as n from ${await changesRelation(env.wh)} where snapshot_id like 'snap-%'`);
    expect(initial.rows[0].n).toBe(3);
  });

  it('lands text holding U+0000 (which jsonb rejects) with U+FFFD and keeps a dead letter saying so', async () => {
    await env.source.query(
      "CREATE TABLE notes (note_id INT PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes VALUES (1, CONCAT('a', CHAR(0), 'b'))",
    );
    expect((await runUntilIdle(env)).end).toBe('idle');
    const landed = await loggedChanges(env.wh, 'notes', "operation = 'insert'");
    expect(landed.map((c) => c.image)).toEqual([{ note_id: 1, body: 'a\ufffdb' }]);
    const dead = await env.wh.query("select source, error_code, details from raw.dead_letters where error_code = 'CDC_NUL_IN_TEXT'");
    expect(dead.rows).toHaveLength(1);
    expect(dead.rows[0]).toMatchObject({ source: 'cdc', details: { table: 'notes', primary_key: { note_id: 1 }, operation: 'insert' } });
  });
});
