/**
 * The columns of the source contract (generator/ddl/shop.sql) with their COLUMN_TYPE text, read
 * from the DDL file: what the CDC ingestor would find in information_schema for a database the
 * contract created. Used where a test needs the source's types without a MariaDB (the type map's
 * test, the dbt fixtures that land rows in the typed change log).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type pg from 'pg';

import { ensureTypedTable, mappedColumns, typedTableColumns } from '../../ingest/cdc/typed-tables.ts';
import { ROOT_DIR } from '../../lib/config/index.ts';
import { parseDdl } from '../../scripts/docs-schemas.ts';

export interface ShopDdlColumn {
  table: string;
  name: string;
  /** As information_schema.COLUMNS.COLUMN_TYPE would print it, modulo case. */
  columnType: string;
}

/** Every column of the DDL file with its type, in table and column order. */
export function shopDdlColumns(): ShopDdlColumn[] {
  const ddl = parseDdl(readFileSync(join(ROOT_DIR, 'generator', 'ddl', 'shop.sql'), 'utf8'));
  return ddl.flatMap((table) => table.columns.map((c) => ({ table: table.name, name: c.name, columnType: c.type })));
}

/**
 * Creates raw_shop.<table> for source tables of the contract as the CDC ingestor would on its
 * first rows: the ingestor's type map and ingest.cdc_ensure_typed_table (a test that writes
 * typed change-log rows by hand needs the tables first).
 */
export async function ensureShopTypedTables(client: pg.ClientBase, tables: readonly string[]): Promise<void> {
  const existing = await typedTableColumns(client, tables);
  const columns = shopDdlColumns();
  for (const table of tables) {
    await ensureTypedTable(client, table, mappedColumns(columns.filter((c) => c.table === table)), existing.get(table));
  }
}
