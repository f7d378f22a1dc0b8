/**
 * Lands one checked API page: its records, its bad records and the source's cursor, in one
 * transaction. The cursor is the greatest updated-at landed; the next pull asks for records
 * updated at or after it, so the page at the boundary comes again and its records, already
 * landed, are dropped by raw.api_records' unique key (source, key, updated-at, content hash).
 * After a crash at any point the pull starts again from the last committed cursor: nothing is
 * lost, nothing lands twice.
 */
import { createHash } from 'node:crypto';

import type pg from 'pg';

import { DEAD_LETTER_SOURCE } from '../../lib/warehouse/dead-letter-sources.ts';
import { storable } from '../kafka/warehouse.ts';
import type { BadRecord, GoodRecord } from './records.ts';

export interface Cursor {
  value: string;
  atMs: number;
}

export async function readCursor(client: pg.ClientBase, source: string): Promise<Cursor | null> {
  const found = await client.query<{ cursor_value: string; at_ms: string }>(
    `select cursor_value, (extract(epoch from cursor_at) * 1000)::bigint::text as at_ms from ingest.api_cursors where source_name = $1`,
    [source],
  );
  const row = found.rows[0];
  return row ? { value: row.cursor_value, atMs: Number(row.at_ms) } : null;
}

export interface PageLanded {
  inserted: number;
  deadLetters: number;
  cursor: Cursor | null;
}

/** The dead letter's position: source and the SHA-256 of the bytes, so a re-served bad record is one letter. */
export function deadLetterPosition(source: string, bytes: Buffer): string {
  return `${source}#${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function landPage(
  client: pg.ClientBase,
  source: string,
  url: string,
  good: readonly GoodRecord[],
  bad: readonly BadRecord[],
  cursorBefore: Cursor | null,
): Promise<PageLanded> {
  let cursor = cursorBefore;
  for (const record of good)
    if (cursor === null || record.updatedAtMs > cursor.atMs) cursor = { value: record.updatedAt, atMs: record.updatedAtMs };
  await client.query('BEGIN');
  try {
    const inserted = await client.query(
      `insert into raw.api_records (source_name, record_key, updated_at, record, record_sha256)
       select $1, r.key, r.updated_at::timestamptz, r.record::jsonb, r.sha
         from unnest($2::text[], $3::text[], $4::text[], $5::text[]) with ordinality as r(key, updated_at, record, sha, n)
        order by r.n
       on conflict do nothing`,
      [source, good.map((r) => r.key), good.map((r) => r.updatedAt), good.map((r) => JSON.stringify(r.record)), good.map((r) => r.sha256)],
    );
    const letters = await client.query(
      `insert into raw.dead_letters (source, source_position, payload, payload_bytes, error_code, reason, details)
       select $1, l.position, l.payload, octet_length(l.payload), 'API_BAD_RECORD', l.reason, l.details::jsonb
         from unnest($2::text[], $3::bytea[], $4::text[], $5::text[]) with ordinality as l(position, payload, reason, details, n)
        order by l.n
       on conflict (source_position) where source = 'api' do nothing`,
      [
        DEAD_LETTER_SOURCE.api,
        bad.map((b) => deadLetterPosition(source, b.bytes)),
        bad.map((b) => b.bytes),
        bad.map((b) => storable(`${source}: record ${b.index} of ${url}: ${b.reason}`)),
        bad.map((b) =>
          JSON.stringify({ source, url, index: b.index, key: b.key }, (_k, v: unknown) => (typeof v === 'string' ? storable(v) : v)),
        ),
      ],
    );
    if (cursor !== null) {
      await client.query(
        `insert into ingest.api_cursors (source_name, cursor_value, cursor_at, records_landed)
         values ($1, $2, $3::timestamptz, $4)
         on conflict (source_name) do update
            set cursor_value = case when excluded.cursor_at >= ingest.api_cursors.cursor_at
                                    then excluded.cursor_value else ingest.api_cursors.cursor_value end,
                cursor_at = greatest(excluded.cursor_at, ingest.api_cursors.cursor_at),
                records_landed = ingest.api_cursors.records_landed + excluded.records_landed,
                updated_at = now()`,
        [source, cursor.value, cursor.value, inserted.rowCount ?? 0],
      );
    }
    await client.query('COMMIT');
    return { inserted: inserted.rowCount ?? 0, deadLetters: letters.rowCount ?? 0, cursor };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
