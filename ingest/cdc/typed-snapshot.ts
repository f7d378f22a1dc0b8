/**
 * A table's snapshot read (initial, re-snapshot or after an ALTER) into its typed change-log
 * table: the table is brought up to the source's columns first, in the same transaction, then
 * the rows stream through COPY text with change_id from the shared sequence's default (one table
 * at a time, so the default numbers them in read order). No JSON is built per row except the key.
 */
import type mysqlCore from 'mysql2';
import type { FieldPacket } from 'mysql2';
import type pg from 'pg';

import { copyJsonField, copyText } from './change.ts';
import { copyStreamInto } from './copy-writer.ts';
import { invalidDateLetters, nulLetter, type CdcDeadLetter } from './dead-letters.ts';
import { selectRowsSql } from './snapshot-select.ts';
import { sourceColumns } from './source.ts';
import { makeTypedRowEncoder, type TypedRowEncoder } from './typed-row.ts';
import { ensureTypedTable, mappedColumns, quoteIdent, TYPED_COPY_META, typedTableColumns, typedTableName } from './typed-tables.ts';
import { makeRowConverter, toJsonText, type RowConverter } from './values.ts';
import type { TableCopy } from './snapshot.ts';

export async function copyTableTyped(
  client: pg.ClientBase,
  connection: mysqlCore.Connection,
  copy: TableCopy,
  keep: (letters: CdcDeadLetter[]) => void,
  onRows: (rows: number) => void,
): Promise<number> {
  const { source, table } = copy;
  const columns = await sourceColumns(connection.promise(), source.database, table.name);
  const existing = (await typedTableColumns(client, [table.name])).get(table.name);
  const typed = await ensureTypedTable(client, table.name, mappedColumns(columns), existing);

  const query = connection.query(selectRowsSql((id) => connection.escapeId(id), source.database, table.name, columns));
  let convert: RowConverter | null = null;
  let encode: TypedRowEncoder | null = null;
  query.on('fields', (fields: FieldPacket[]) => {
    convert = makeRowConverter(fields.map((f) => ({ name: f.name, typeCode: f.columnType ?? 0 })));
    const typedNames = new Set(typed.map((c) => c.name));
    // Columns read but not typed (unmapped types): their values go to _unmapped.
    encode = makeTypedRowEncoder(
      typed,
      false,
      fields.map((f) => f.name).filter((name) => !typedNames.has(name)),
    );
  });
  const prefix = `snapshot\t${copyText(copy.coordinate.file)}\t${copy.coordinate.position}\t\\N\t\\N\t${copyText(copy.snapshotId)}\t${copy.startedAt}\t`;
  // A table whose columns are all unmapped has no source fields after _unmapped.
  const hasFields = typed.length > 0;
  const copySql = `COPY ${typedTableName(table.name)} (${TYPED_COPY_META}${typed.map((c) => `, ${quoteIdent(c.name)}`).join('')}) FROM STDIN`;
  const pk = table.primaryKey;
  let count = 0;
  const rows = await copyStreamInto<Record<string, unknown>>(
    client,
    query.stream({ highWaterMark: 2048 }),
    (raw) => {
      const row = convert!(raw);
      const encoder = encode!;
      let keyJson: string | null = null;
      if (pk.length > 0) {
        const key: Record<string, unknown> = {};
        for (const column of pk) key[column] = row[column];
        keyJson = toJsonText(key).json;
      }
      const fields = encoder(row);
      const unmapped = encoder.unmapped ? toJsonText(encoder.unmapped) : null;
      if (convert!.issues.length > 0) keep(invalidDateLetters(table.name, keyJson, 'snapshot', convert!.issues));
      if (encoder.hadNul || unmapped?.hadNul) keep([nulLetter(table.name, keyJson, 'snapshot', JSON.stringify(row))]);
      if (++count % 10_000 === 0) onRows(count);
      return `${prefix}${copyJsonField(keyJson)}\t${copyJsonField(unmapped?.json ?? null)}${hasFields ? `\t${fields}\n` : '\n'}`;
    },
    copySql,
  );
  onRows(rows);
  return rows;
}
