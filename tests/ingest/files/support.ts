/** A scratch folder of CSV files, a source declared over it, and what raw holds for it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { parseSourceConfig, type FileSource } from '../../../ingest/files/source-config.ts';
import { quoteIdent } from '../../../ingest/files/typed-table.ts';

const quoteLiteral = (text: string) => `'${text.replaceAll("'", "''")}'`;

export function scratchFolder(label: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `files-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The test's orders source: header CSV, an integer key, a numeric amount and a date. */
export function ordersSourceDocument(name: string, csv: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    name,
    folder: '.',
    table: 'orders_history',
    keys: ['order_id'],
    columns: [
      { name: 'order_id', type: 'integer' },
      { name: 'customer', type: 'text' },
      { name: 'amount', type: 'numeric' },
      { name: 'ordered_on', type: 'date' },
    ],
    csv,
    ...extra,
  };
}

export function ordersSource(
  folder: string,
  name: string,
  csv: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): FileSource {
  return parseSourceConfig({ sources: [ordersSourceDocument(name, csv, extra)] }, 'test', folder)[0]!;
}

export interface Landed {
  manifest: { file_name: string; version: number; size_bytes: string; content_sha256: string; rows_landed: string; rows_dead: string }[];
  rows: { file_name: string; version: number; line_number: string; record: Record<string, unknown> }[];
  deadLetters: {
    source_position: string;
    error_code: string;
    reason: string;
    details: Record<string, unknown>;
    payload: Buffer;
    payload_bytes: number;
  }[];
}

/** Everything raw holds for a source, read as the superuser. */
export async function landed(adminUrl: string, source: string): Promise<Landed> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const manifest = await client.query(
      `select file_name, version, size_bytes, content_sha256, rows_landed, rows_dead
       from raw.file_manifest where source_name = $1 order by file_name, version`,
      [source],
    );
    // The typed table's declared columns as a record: booleans as they are, every other type
    // as Postgres prints it (exact numerics, ISO dates), null as null.
    const columns = await client.query<{ name: string; pg_type: string }>(
      `select attname::text as name, format_type(atttypid, atttypmod) as pg_type from pg_attribute
        where attrelid = to_regclass(format('raw_files.%I', $1::text)) and attnum > 0 and not attisdropped
          and attname not in ('file_id', 'line_number', '_loaded_at')
        order by attnum`,
      [source],
    );
    const record = columns.rows
      .map((c) => `${quoteLiteral(c.name)}, r.${quoteIdent(c.name)}${c.pg_type === 'boolean' ? '' : '::text'}`)
      .join(', ');
    const rows =
      columns.rows.length === 0
        ? { rows: [] }
        : await client.query(
            `select m.file_name, m.version, r.line_number, jsonb_build_object(${record}) as record
               from raw_files.${quoteIdent(source)} r join raw.file_manifest m using (file_id)
              where m.source_name = $1 order by m.file_name, m.version, r.line_number`,
            [source],
          );
    const deadLetters = await client.query(
      `select source_position, error_code, reason, details, payload, payload_bytes from raw.dead_letters
       where source = 'files' and details->>'source' = $1 order by dead_letter_id`,
      [source],
    );
    return { manifest: manifest.rows, rows: rows.rows, deadLetters: deadLetters.rows } as Landed;
  } finally {
    await client.end();
  }
}
