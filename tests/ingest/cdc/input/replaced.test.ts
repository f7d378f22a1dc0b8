/**
 * A replaced source: the shop database was restored from a backup or rebuilt on another server,
 * so the stored binlog position points into a different history. Before, the ingestor followed it
 * and staging mixed two worlds (dbt build then failed on orders without customer keys). Now it
 * stops with CDC_SOURCE_REPLACED on every start, and `--resnapshot` ends the old world's rows with
 * a truncate per table before snapshotting the new one.
 *
 * The test server's binlog is shared by every test database, so it cannot be reset here; a
 * restore is reproduced as the ingestor sees it: the source holds a new world it never saw
 * written, and the stored coordinate's history (GTID, binlog file, GTID domain) does not match.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { changesRelation, createCdcEnv, derivedState, runUntilIdle, sourceState, type CdcTestEnv } from '../helpers.ts';

let env: CdcTestEnv | undefined;

afterEach(async () => {
  await env?.drop();
  env = undefined;
});

async function oldWorld(): Promise<void> {
  await env!.source.query(`CREATE TABLE customers (customer_id INT PRIMARY KEY, email VARCHAR(60) NOT NULL);
    CREATE TABLE orders (order_id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(12,2) NOT NULL);
    INSERT INTO customers VALUES (1, 'ann@old.example'), (2, 'bob@old.example'), (3, 'cy@old.example');
    INSERT INTO orders VALUES (1, 1, 10.00), (2, 3, 20.00), (3, 3, 30.00)`);
  expect((await runUntilIdle(env!)).end).toBe('idle');
  await env!.source.query(
    "UPDATE customers SET email = 'ann@older.example' WHERE customer_id = 1; INSERT INTO orders VALUES (4, 2, 40.00)",
  );
  expect((await runUntilIdle(env!)).end).toBe('idle');
}

/** The restored world: same tables, other rows; written while no ingestor was reading. */
async function newWorld(): Promise<void> {
  await env!.source.query(`DROP TABLE orders, customers;
    CREATE TABLE customers (customer_id INT PRIMARY KEY, email VARCHAR(60) NOT NULL);
    CREATE TABLE orders (order_id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(12,2) NOT NULL);
    INSERT INTO customers VALUES (1, 'ann@new.example'), (5, 'eve@new.example');
    INSERT INTO orders VALUES (1, 5, 11.00), (7, 1, 77.00)`);
}

async function headOfSource(): Promise<{ file: string; position: number; gtid: string }> {
  const [rows] = await env!.source.query('SHOW MASTER STATUS');
  const head = (rows as { File: string; Position: number }[])[0]!;
  const [pos] = await env!.source.query('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [head.File, head.Position]);
  return { file: head.File, position: Number(head.Position), gtid: String((pos as { gtid: string }[])[0]!.gtid).split(',')[0]! };
}

async function expectReplacedThenResnapshot(reason: RegExp): Promise<void> {
  for (let start = 0; start < 2; start++) {
    const failure = await runUntilIdle(env!).then(
      () => null,
      (error: unknown) => error as Error & { code?: string },
    );
    expect(failure?.code, `start ${start + 1}`).toBe('CDC_SOURCE_REPLACED');
    expect(failure?.message).toMatch(reason);
    expect(failure?.message).toMatch(/--resnapshot/);
  }
  expect((await runUntilIdle(env!, { resnapshot: true })).end).toBe('idle');
  for (const [table, key] of [
    ['customers', 'customer_id'],
    ['orders', 'order_id'],
  ] as const) {
    expect(await derivedState(env!.wh, table)).toEqual(await sourceState(env!.source, table, [key]));
    // Nothing of the old world follows the boundary: the versions history starts with the new snapshot.
    const after = await env!.wh.query<{ operation: string; n: number }>(
      `select operation, count(*)::int as n from ${await changesRelation(env!.wh)}
        where table_name = $1 and change_id > (select max(change_id) from raw.shop_changes where table_name = $1 and operation = 'truncate' and snapshot_id is not null)
        group by operation`,
      [table],
    );
    expect(after.rows).toEqual([{ operation: 'snapshot', n: (await sourceState(env!.source, table, [key])).size }]);
  }
  const customers = new Set([...(await derivedState(env!.wh, 'customers')).values()].map((c) => c.customer_id));
  expect([...(await derivedState(env!.wh, 'orders')).values()].every((o) => customers.has(o.customer_id))).toBe(true);
  // And the new world keeps flowing.
  await env!.source.query('INSERT INTO orders VALUES (8, 5, 8.00)');
  expect((await runUntilIdle(env!)).end).toBe('idle');
  expect(await derivedState(env!.wh, 'orders')).toEqual(await sourceState(env!.source, 'orders', ['order_id']));
}

describe('CDC on a replaced source', () => {
  it('stops when the binlog at the stored position follows another history, and --resnapshot ends the old world', async () => {
    env = await createCdcEnv('cdc_replaced_gtid');
    await oldWorld();
    await newWorld();
    const head = await headOfSource();
    const [domain, server, seq] = head.gtid.split('-');
    await env.wh.query('update ingest.cdc_positions set binlog_file = $1, binlog_position = $2, gtid = $3', [
      head.file,
      head.position,
      `${domain}-${server}-${Number(seq) + 1000}`,
    ]);
    await expectReplacedThenResnapshot(/follows GTID/);
  });

  it('stops when the binlog restarted below the stored file (RESET MASTER, a new server)', async () => {
    env = await createCdcEnv('cdc_replaced_reset');
    await oldWorld();
    await newWorld();
    await env.wh.query("update ingest.cdc_positions set binlog_file = 'binlog.999999', binlog_position = 4");
    await expectReplacedThenResnapshot(/binlog restarted/);
  });

  it('stops when the GTID domain changed', async () => {
    env = await createCdcEnv('cdc_replaced_domain');
    await oldWorld();
    await newWorld();
    const head = await headOfSource();
    await env.wh.query(
      "update ingest.cdc_positions set binlog_file = $1, binlog_position = $2, gtid = null, source_identity = jsonb_set(source_identity, '{gtidDomainId}', '7')",
      [head.file, head.position],
    );
    await expectReplacedThenResnapshot(/GTID domain changed from 7/);
  });
});
