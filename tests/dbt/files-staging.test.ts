/**
 * The file sources' staging example reads the typed layout: stg_files__supplier_prices builds
 * (empty) before the source's first file has landed, when raw_files.supplier_prices does not
 * exist yet; after the example price list lands and is then sent again changed, it holds the
 * current version's rows with their types, and never rows of a version landed as jsonb before
 * the upgrade (migration 0240).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { landFile } from '../../ingest/files/lander.ts';
import { loadSourceConfig } from '../../ingest/files/source-config.ts';
import { ROOT_DIR } from '../../lib/config/index.ts';
import { roleUrl } from '../../lib/config/roles.ts';
import { createPool } from '../../lib/pg/pool.ts';
import { scratchFolder } from '../ingest/files/support.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { dbtRunner, withPg } from './helpers.ts';

const EXAMPLE = join(ROOT_DIR, 'ingest', 'files', 'examples');
const FILE = 'prices-2026-12.csv';

let warehouse: TestWarehouse;
let runner: ReturnType<typeof dbtRunner>;
const folder = scratchFolder('files-staging');

beforeAll(async () => {
  warehouse = await createTestWarehouse('dbt_files_staging');
  runner = dbtRunner(warehouse.config);
  cpSync(EXAMPLE, folder.path, { recursive: true });
});

afterAll(async () => {
  runner?.cleanup();
  await warehouse?.drop();
  folder.remove();
});

async function landAll(): Promise<void> {
  const pool = createPool({ connectionString: roleUrl(warehouse.config, 'ingest_writer'), applicationName: 'files-staging-test', max: 1 });
  try {
    for (const source of loadSourceConfig(join(folder.path, 'supplier-prices.yaml'))) {
      const client = await pool.connect();
      try {
        await landFile(client, source, FILE);
      } finally {
        client.release();
      }
    }
  } finally {
    await pool.end();
  }
}

const staged = () =>
  withPg(warehouse.adminUrl, async (client: pg.Client) => {
    const result = await client.query(
      `select sku, price::text, pg_typeof(price)::text as price_type, valid_from::text, is_in_stock, source_file_version, source_line_number
         from staging.stg_files__supplier_prices order by sku`,
    );
    return result.rows;
  });

describe('stg_files__supplier_prices', () => {
  it('builds empty before the first file, then holds the current version typed', async () => {
    await runner.dbt(['build', '--select', 'stg_files__supplier_prices']);
    expect(await staged()).toEqual([]);

    // A version landed as jsonb before the upgrade: history, never staged.
    await withPg(warehouse.adminUrl, (client) =>
      client.query(
        `insert into raw.file_manifest (source_name, file_name, version, size_bytes, content_sha256, rows_landed, rows_dead, layout)
         values ('supplier_prices', $1, 1, 1, repeat('0', 64), 1, 0, 'jsonb')`,
        [FILE],
      ),
    );
    await landAll();
    const path = join(folder.path, 'incoming', FILE);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from('SKU-0005;2,00;08.12.2026;nein\n', 'latin1')]));
    await landAll();
    await runner.dbt(['build', '--select', 'stg_files__supplier_prices']);

    expect(await staged()).toEqual([
      {
        sku: 'SKU-0001',
        price: '1299.00',
        price_type: 'numeric',
        valid_from: '2026-12-01',
        is_in_stock: true,
        source_file_version: 3,
        source_line_number: '2',
      },
      {
        sku: 'SKU-0002',
        price: '19.95',
        price_type: 'numeric',
        valid_from: '2026-12-01',
        is_in_stock: false,
        source_file_version: 3,
        source_line_number: '3',
      },
      {
        sku: 'SKU-0003; Sonder',
        price: '4.50',
        price_type: 'numeric',
        valid_from: '2026-12-07',
        is_in_stock: true,
        source_file_version: 3,
        source_line_number: '4',
      },
      {
        sku: 'SKU-0005',
        price: '2.00',
        price_type: 'numeric',
        valid_from: '2026-12-08',
        is_in_stock: false,
        source_file_version: 3,
        source_line_number: '6',
      },
    ]);
  });
});
