/**
 * RENAME TABLE a TO b in the typed layout: b continues a. a's current rows (latest per key after
 * its last truncate, deletes removed) are logged again in raw_shop.b as inserts at the rename's
 * position, b taking a's columns first; then a ends with a truncate in raw.shop_changes.
 */
import type pg from 'pg';

import { ensureTypedTable, quoteIdent, typedTableColumns, typedTableName } from './typed-tables.ts';
import type { SourceTransaction, TableRename } from './transaction-assembler.ts';

export async function applyTypedRename(
  client: pg.ClientBase,
  tx: SourceTransaction,
  rename: TableRename,
  firstRowIndex: number,
  database: string,
): Promise<number> {
  const committedAt = new Date(tx.committedAtMs).toISOString();
  const ddl = tx.changes[0]?.ddl ?? null;
  const existing = await typedTableColumns(client, [rename.from, rename.to]);
  const fromColumns = existing.get(rename.from);
  let copied = 0;
  if (fromColumns) {
    await ensureTypedTable(client, rename.to, fromColumns, existing.get(rename.to));
    const names = fromColumns.map((c) => quoteIdent(c.name));
    const inserted = await client.query(
      `with last_truncate as (
         select coalesce(max(change_id), 0) as change_id from raw.shop_changes
          where table_name = $1 and source_database = $2 and operation = 'truncate'
       ), latest as (
         select distinct on (_key) * from ${typedTableName(rename.from)}
          where _key is not null and change_id > (select change_id from last_truncate)
          order by _key, change_id desc
       )
       insert into ${typedTableName(rename.to)} (operation, binlog_file, binlog_position, row_index, gtid, source_committed_at, _key, _unmapped${names.map((n) => `, ${n}`).join('')})
       select 'insert', $3, $4, $5 + (row_number() over (order by change_id))::int - 1, $6, $7::timestamptz, _key, _unmapped${names.map((n) => `, ${n}`).join('')}
         from latest
        where operation <> 'delete'
        order by change_id`,
      [rename.from, database, tx.endFile, tx.endPosition, firstRowIndex, tx.gtid, committedAt],
    );
    copied = inserted.rowCount ?? 0;
  }
  await client.query(
    `insert into raw.shop_changes (source_database, table_name, operation, binlog_file, binlog_position, row_index, gtid, source_committed_at, ddl)
     values ($1, $2, 'truncate', $3, $4, $5, $6, $7::timestamptz, $8)`,
    [database, rename.from, tx.endFile, tx.endPosition, firstRowIndex + copied, tx.gtid, committedAt, ddl],
  );
  return copied + 1;
}
