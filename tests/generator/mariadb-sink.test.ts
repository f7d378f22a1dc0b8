/**
 * The MariaDB sink's two ways of writing (LOAD DATA with staged upserts, and INSERT statements)
 * against a real server: the same world gives the same tables either way, awkward text survives
 * the tab-separated encoding byte for byte, a key upserted twice in a batch ends with its last
 * row, and a batch that fails leaves nothing behind (rolled back, staging emptied).
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MariadbSink, connectShopDb, writeMethodFor, type WriteMethod } from '../../generator/sinks/mariadb.ts';
import { Batch } from '../../generator/world/batch.ts';
import { COLUMNS, TABLES, type Row } from '../../generator/world/rows.ts';
import { createLogger } from '../../lib/logger.ts';
import { createTestShopDb, type TestShopDb } from '../helpers/shopdb.ts';
import { generateInMemory } from './memory-world.ts';

const logger = createLogger('mariadb-sink-test', 'warn');
const dbs: TestShopDb[] = [];

async function sinkOn(label: string, method: WriteMethod): Promise<{ sink: MariadbSink; db: TestShopDb }> {
  const db = await createTestShopDb(label);
  dbs.push(db);
  return { sink: new MariadbSink(await connectShopDb(db.url, logger), method), db };
}

async function dump(sink: MariadbSink): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    const [rows] = await sink.connection.query(`SELECT ${COLUMNS[table].map((c) => `\`${c}\``).join(', ')} FROM \`${table}\` ORDER BY 1`);
    out[table] = rows as unknown[];
  }
  return out;
}

function customer(id: number, email: string, firstName: string, updatedAt = '2024-01-01 00:00:00.000'): Row {
  return [
    id,
    email,
    firstName,
    'Smith',
    null,
    'US',
    'CA',
    'San José',
    '95112',
    '1 Main St',
    'web',
    '2024-01-01 00:00:00.000',
    '2024-01-01 00:00:00.000',
    updatedAt,
  ];
}

afterAll(async () => {
  for (const db of dbs) await db.drop();
});

describe('MariaDB sink', () => {
  let load: { sink: MariadbSink; db: TestShopDb };
  let insert: { sink: MariadbSink; db: TestShopDb };

  beforeAll(async () => {
    load = await sinkOn('sink_load', 'load-data');
    insert = await sinkOn('sink_insert', 'insert');
  });

  afterAll(async () => {
    await load.sink.close();
    await insert.sink.close();
  });

  it('chooses LOAD DATA on a server that allows it (the local services do)', async () => {
    expect(await writeMethodFor(load.sink.connection, logger)).toBe('load-data');
  });

  it('LOAD DATA and INSERT statements write a world into identical tables', async () => {
    const world = await generateInMemory({ seed: 5, days: 40, customers: 150, products: 60, orders: 600, maxMessagesPerBatch: 200 });
    // Replays the world's writes, batch by batch as the backfill handed them on.
    const batches = new Map<string, Batch>();
    for (const w of world.writes) {
      const batch = batches.get(w.batch) ?? new Batch(w.batch);
      batches.set(w.batch, batch);
      if (w.kind === 'insert') batch.insert(w.table, w.row);
      else batch.upsert(w.table, w.row);
    }
    for (const batch of batches.values()) {
      await load.sink.write(batch);
      await insert.sink.write(batch);
    }
    const loaded = await dump(load.sink);
    expect((loaded.orders as unknown[]).length).toBe(600);
    expect(loaded).toEqual(await dump(insert.sink));
  });

  it('awkward text survives byte for byte: tabs, newlines, backslashes, quotes, \\N, NUL, emoji', async () => {
    const awkward = ['tab\there', 'new\nline\r\n', 'back\\slash\\', 'it\'s "quoted"', '\\N', 'nul\u0000byte', 'ünïcødé 🛒', ''];
    const batch = new Batch('awkward');
    awkward.forEach((text, i) => batch.insert('customers', customer(90_000 + i, `awkward${i}@example.com`, text)));
    await load.sink.write(batch);
    const [rows] = await load.sink.connection.query<mysql.RowDataPacket[]>(
      'SELECT first_name, phone FROM customers WHERE customer_id >= 90000 ORDER BY customer_id',
    );
    expect(rows.map((r) => r.first_name)).toEqual(awkward);
    expect(rows.every((r) => r.phone === null)).toBe(true);
  });

  it('a key upserted twice in one batch ends with its last row', async () => {
    const batch = new Batch('twice');
    batch.insert('customers', customer(91_000, 'twice@example.com', 'First'));
    batch.upsert('customers', customer(91_000, 'twice@example.com', 'Second', '2024-01-02 00:00:00.000'));
    batch.upsert('customers', customer(91_000, 'twice@example.com', 'Third', '2024-01-03 00:00:00.000'));
    await load.sink.write(batch);
    const [rows] = await load.sink.connection.query<mysql.RowDataPacket[]>(
      'SELECT first_name, updated_at FROM customers WHERE customer_id = 91000',
    );
    expect(rows).toEqual([{ first_name: 'Third', updated_at: '2024-01-03 00:00:00.000' }]);
  });

  it('a duplicate key (which LOAD DATA LOCAL only warns about) fails the batch, and nothing of it stays', async () => {
    const before = await dump(load.sink);
    const product: Row = [
      95_000,
      'SKU-DUP',
      'x',
      'Grocery',
      'Snacks',
      'Brand',
      1,
      0.5,
      1,
      '2024-01-01 00:00:00.000',
      '2024-01-01 00:00:00.000',
      '2024-01-01 00:00:00.000',
    ];
    const batch = new Batch('duplicate');
    batch.insert('customers', customer(92_000, 'dup@example.com', 'New'));
    batch.insert('products', product);
    batch.insert('products', product);
    await expect(load.sink.write(batch)).rejects.toThrow(/writing duplicate to MariaDB failed: LOAD DATA into products took 1 of 2 rows/);
    expect(await dump(load.sink)).toEqual(before);
  });

  it('a staged upsert that fails (a missing parent) rolls back and empties the staging table; the next batch goes through', async () => {
    const before = await dump(load.sink);
    const batch = new Batch('orphan');
    batch.insert('customers', customer(93_000, 'orphan@example.com', 'Kept?'));
    batch.upsert('inventory', [999_999, 5, 1, 10, null, '2024-01-01 00:00:00.000', '2024-01-01 00:00:00.000']);
    await expect(load.sink.write(batch)).rejects.toThrow(/writing orphan to MariaDB failed: .*foreign key/i);
    expect(await dump(load.sink)).toEqual(before);
    const [staged] = await load.sink.connection.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM shopflow_stage_inventory');
    expect(Number(staged[0]!.n)).toBe(0);

    const next = new Batch('after');
    next.insert('customers', customer(93_001, 'after@example.com', 'After'));
    await load.sink.write(next);
    const [after] = await load.sink.connection.query<mysql.RowDataPacket[]>(
      'SELECT customer_id FROM customers WHERE customer_id IN (92000, 93000, 93001)',
    );
    expect(after.map((r) => Number(r.customer_id))).toEqual([93_001]);
  });
});
