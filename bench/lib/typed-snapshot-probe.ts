/**
 * A probe of the typed raw layout chosen in docs/cdc.md ("What the raw layout costs"): the
 * ingestor's own snapshot read path (its source connection, row converter and COPY batcher)
 * streaming one table into a typed change-log table with COPY text. It leaves out what the
 * ingestor does around the copy (positions, dead letters, DDL), which costs nothing per row, so
 * the bench can tell what the layout gives before the ingestor moves onto it.
 */
import { pipeline } from 'node:stream/promises';

import type { FieldPacket } from 'mysql2';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { CopyBatcher } from '../../ingest/cdc/copy-writer.ts';
import { openSourceConnection, sourceFromUrl } from '../../ingest/cdc/source.ts';
import { makeRowConverter, type RowConverter } from '../../ingest/cdc/values.ts';
import { copyText } from '../../ingest/shared/copy-text.ts';

export interface TypedProbeTarget {
  shopUrl: string;
  warehouseUrl: string;
  sourceTable: string;
  /** The typed change-log table (created by the caller) and its COPY column list. */
  typedTable: string;
  copyColumns: string;
}

/**
 * One converted value (values.ts format) as a COPY text field of its mapped Postgres column.
 * Enough for orders_bench's kinds (integers, DECIMAL and DATETIME strings, text); binary columns,
 * which the converter turns into base64, would need decoding back for bytea.
 */
function typedField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return copyText(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return copyText(JSON.stringify(value));
}

export async function typedSnapshotProbe(target: TypedProbeTarget): Promise<{ rows: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const { query: connection, core } = await openSourceConnection(sourceFromUrl(target.shopUrl));
  const client = new pg.Client({ connectionString: target.warehouseUrl, application_name: 'shopflow-bench-typed-probe' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    await client.query('begin');
    const query = core.query(`SELECT * FROM ${core.escapeId(target.sourceTable)}`);
    let convert: RowConverter | null = null;
    let names: string[] = [];
    query.on('fields', (fields: FieldPacket[]) => {
      names = fields.map((f) => f.name);
      convert = makeRowConverter(fields.map((f) => ({ name: f.name, typeCode: f.columnType ?? 0 })));
    });
    const prefix = 'snapshot\tmysql-bin.000001\t4\t\\N\t\\N\tsnap-probe\t2026-12-06T08:00:00.000Z\t';
    const batcher = new CopyBatcher<Record<string, unknown>>((raw) => {
      const row = convert!(raw);
      let line = prefix;
      for (let i = 0; i < names.length; i++) line += (i === 0 ? '' : '\t') + typedField(row[names[i]!]);
      return `${line}\n`;
    });
    await pipeline(
      query.stream({ highWaterMark: 2048 }),
      batcher,
      client.query(copyFrom(`COPY ${target.typedTable} (${target.copyColumns}) FROM STDIN`)),
    );
    await client.query('commit');
    await connection.query('COMMIT');
    return { rows: batcher.count, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } finally {
    await client.end().catch(() => undefined);
    await connection.end().catch(() => core.destroy());
  }
}
