/**
 * A run of binlog changes (in source order) into the typed layout, inside the batch's
 * transaction: one block of change ids reserved and assigned in source order, then one COPY per
 * typed table touched and one into raw.shop_changes for the schema_change and truncate rows. The
 * tables are brought up to the columns the changes carry first, in the same transaction.
 */
import { Readable } from 'node:stream';

import type pg from 'pg';

import { CHANGE_COLUMNS, copyJsonField, copyText, encodeChange, type ChangeRecord } from './change.ts';
import { copyStreamInto } from './copy-writer.ts';
import { widenPgType } from './type-map.ts';
import { makeTypedRowEncoder, type TypedColumn } from './typed-row.ts';
import { ensureTypedTable, mappedColumns, quoteIdent, typedTableColumns, typedTableName } from './typed-tables.ts';
import { toJsonText } from './values.ts';

const COPY_LOG_SQL = `COPY raw.shop_changes (change_id, ${CHANGE_COLUMNS.join(', ')}) FROM STDIN`;
const TYPED_COPY_HEAD =
  'change_id, operation, binlog_file, binlog_position, row_index, gtid, snapshot_id, source_committed_at, _key, _unmapped';

interface Numbered {
  id: bigint;
  change: ChangeRecord;
}

/** Columns the changes of one table carry, merged (a type seen two ways widens). */
function wantedColumns(changes: readonly Numbered[]): TypedColumn[] {
  const wanted = new Map<string, string>();
  let last: unknown = null;
  for (const { change } of changes) {
    if (!change.sourceColumns || change.sourceColumns === last) continue;
    last = change.sourceColumns;
    for (const column of mappedColumns(change.sourceColumns)) {
      const seen = wanted.get(column.name);
      wanted.set(column.name, seen === undefined ? column.pgType : widenPgType(seen, column.pgType));
    }
  }
  return [...wanted].map(([name, pgType]) => ({ name, pgType }));
}

function numberText(value: number | null): string {
  return value === null ? '\\N' : String(value);
}

async function copyTable(
  client: pg.ClientBase,
  table: string,
  rows: readonly Numbered[],
  columns: readonly TypedColumn[],
): Promise<number> {
  const encode = makeTypedRowEncoder(columns, true);
  const copySql = `COPY ${typedTableName(table)} (${TYPED_COPY_HEAD}${columns.map((c) => `, ${quoteIdent(c.name)}`).join('')}) FROM STDIN`;
  const tail = columns.length > 0;
  return copyStreamInto<Numbered>(
    client,
    Readable.from(rows, { objectMode: true }),
    ({ id, change }) => {
      // Delete rows carry the before-image in the columns, every other row its after-image.
      const image = JSON.parse((change.afterJson ?? change.beforeJson)!) as Record<string, unknown>;
      const fields = encode(image);
      const unmapped = encode.unmapped ? toJsonText(encode.unmapped).json : null;
      return (
        `${id}\t${change.operation}\t${change.binlogFile === null ? '\\N' : copyText(change.binlogFile)}\t${numberText(change.binlogPosition)}\t` +
        `${numberText(change.rowIndex)}\t${change.gtid === null ? '\\N' : copyText(change.gtid)}\t` +
        `${change.snapshotId === null ? '\\N' : copyText(change.snapshotId)}\t${change.sourceCommittedAt ?? '\\N'}\t` +
        `${copyJsonField(change.primaryKeyJson)}\t${copyJsonField(unmapped)}${tail ? `\t${fields}` : ''}\n`
      );
    },
    copySql,
  );
}

export async function copyTypedChanges(client: pg.ClientBase, changes: readonly ChangeRecord[]): Promise<number> {
  if (changes.length === 0) return 0;
  const reserved = await client.query<{ first: string }>('select ingest.cdc_reserve_change_ids($1)::text as first', [changes.length]);
  let next = BigInt(reserved.rows[0]!.first);
  const log: Numbered[] = [];
  const byTable = new Map<string, Numbered[]>();
  for (const change of changes) {
    const numbered = { id: next++, change };
    if (change.operation === 'schema_change' || change.operation === 'truncate') {
      log.push(numbered);
    } else {
      let rows = byTable.get(change.tableName);
      if (!rows) byTable.set(change.tableName, (rows = []));
      rows.push(numbered);
    }
  }
  let rows = 0;
  if (log.length > 0) {
    rows += await copyStreamInto<Numbered>(
      client,
      Readable.from(log, { objectMode: true }),
      ({ id, change }) => `${id}\t${encodeChange(change)}`,
      COPY_LOG_SQL,
    );
  }
  const existing = await typedTableColumns(client, [...byTable.keys()]);
  for (const [table, tableRows] of byTable) {
    const columns = await ensureTypedTable(client, table, wantedColumns(tableRows), existing.get(table));
    rows += await copyTable(client, table, tableRows, columns);
  }
  return rows;
}
