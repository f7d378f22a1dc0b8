/**
 * Parquet sources against a real warehouse: a file of several row groups lands once with its
 * values canonical (INT64 ids, DECIMAL amounts exact at their scale, dates), a row that breaks
 * its source is a dead letter naming its row, and a file that is not Parquet or lacks a
 * declared column is refused whole.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parquetWriteFile } from 'hyparquet-writer';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { landFile } from '../../../ingest/files/lander.ts';
import { roleUrl } from '../../../lib/config/roles.ts';
import type { ShopflowError } from '../../../lib/errors.ts';
import { createPool } from '../../../lib/pg/pool.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { landed, ordersSource, scratchFolder } from './support.ts';

let warehouse: TestWarehouse;
let pool: pg.Pool;
const folder = scratchFolder('parquet');

beforeAll(async () => {
  warehouse = await createTestWarehouse('ingest_files_parquet');
  pool = createPool({ connectionString: roleUrl(warehouse.config, 'ingest_writer'), applicationName: 'files-parquet-test', max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await warehouse?.drop();
  folder.remove();
});

async function land(source: ReturnType<typeof ordersSource>, file: string) {
  const client = await pool.connect();
  try {
    return await landFile(client, source, file);
  } finally {
    client.release();
  }
}

function writeOrders(file: string, rows: { id: bigint; customer: string | null; amount: number; on: string }[]): void {
  parquetWriteFile({
    filename: join(folder.path, file),
    columnData: [
      { name: 'order_id', data: rows.map((r) => r.id) },
      { name: 'customer', data: rows.map((r) => r.customer) },
      { name: 'amount', data: rows.map((r) => r.amount) },
      { name: 'ordered_on', data: rows.map((r) => new Date(r.on)) },
    ],
    schema: [
      { name: 'root', num_children: 4 },
      { name: 'order_id', type: 'INT64', repetition_type: 'REQUIRED' },
      { name: 'customer', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'amount', type: 'INT64', converted_type: 'DECIMAL', scale: 2, precision: 12, repetition_type: 'REQUIRED' },
      { name: 'ordered_on', type: 'INT32', converted_type: 'DATE', repetition_type: 'REQUIRED' },
    ],
    rowGroupSize: 2,
  });
}

describe('landing a Parquet file', () => {
  it('lands every row group once with canonical values; a row that breaks its source is a dead letter naming its row', async () => {
    const source = ordersSource(folder.path, 'parquet_orders', {}, { format: 'parquet' });
    expect(source.pattern).toBe('*.parquet');
    const strict = { ...source, columns: source.columns.map((c) => (c.name === 'customer' ? { ...c, nullable: false } : c)) };
    writeOrders('orders.parquet', [
      { id: 1n, customer: 'ann', amount: 10.5, on: '2026-01-02' },
      { id: 9007199254740993n, customer: 'bob', amount: 1234567.89, on: '2026-01-03' },
      { id: 3n, customer: null, amount: 0.07, on: '2026-01-04' },
      { id: 4n, customer: 'di', amount: 9999999999.99, on: '2026-01-05' },
      { id: 5n, customer: 'ed', amount: 0, on: '2026-01-06' },
    ]);
    expect(await land(strict, 'orders.parquet')).toMatchObject({ outcome: 'landed', version: 1, rows: 4, badRows: 1 });
    expect(await land(strict, 'orders.parquet')).toMatchObject({ outcome: 'unchanged', version: 1 });
    const raw = await landed(warehouse.adminUrl, 'parquet_orders');
    expect(raw.rows.map((r) => [r.line_number, r.record])).toEqual([
      ['1', { order_id: '1', customer: 'ann', amount: '10.50', ordered_on: '2026-01-02' }],
      ['2', { order_id: '9007199254740993', customer: 'bob', amount: '1234567.89', ordered_on: '2026-01-03' }],
      ['4', { order_id: '4', customer: 'di', amount: '9999999999.99', ordered_on: '2026-01-05' }],
      ['5', { order_id: '5', customer: 'ed', amount: '0.00', ordered_on: '2026-01-06' }],
    ]);
    expect(raw.deadLetters.map((d) => [d.source_position, d.error_code, d.reason])).toEqual([
      [
        'parquet_orders/orders.parquet:3',
        'FILES_MISSING_VALUE',
        'orders.parquet: row 3, column customer: empty, but the column is not nullable',
      ],
    ]);
    expect(JSON.parse(raw.deadLetters[0]!.payload.toString('utf8'))).toMatchObject({ order_id: '3', customer: null, amount: '0.07' });
  });

  it('refuses a file that is not Parquet, or lacks a declared column, leaving nothing', async () => {
    const source = ordersSource(folder.path, 'parquet_refused', {}, { format: 'parquet' });
    writeFileSync(join(folder.path, 'fake.parquet'), 'order_id,customer\n1,ann\n');
    const notParquet = await land(source, 'fake.parquet').catch((error: unknown) => error);
    expect((notParquet as ShopflowError).code).toBe('FILES_MALFORMED_PARQUET');
    parquetWriteFile({ filename: join(folder.path, 'narrow.parquet'), columnData: [{ name: 'order_id', data: [1, 2], type: 'INT32' }] });
    const narrow = await land(source, 'narrow.parquet').catch((error: unknown) => error);
    expect((narrow as ShopflowError).code).toBe('FILES_HEADER_MISMATCH');
    expect((narrow as Error).message).toContain('the Parquet schema has no column "customer"');
    expect(await landed(warehouse.adminUrl, 'parquet_refused')).toEqual({ manifest: [], rows: [], deadLetters: [] });
  });
});
