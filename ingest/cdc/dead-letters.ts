/**
 * CDC dead letters: values the change log cannot carry as they are. The row still lands (with
 * null, or U+FFFD for U+0000); the dead letter keeps the original value, the table, the key and
 * where in the source it was read, so a person can repair the source or the derived data.
 */
import type pg from 'pg';

import { DEAD_LETTER_SOURCE } from '../../lib/warehouse/dead-letter-sources.ts';
import type { ValueIssue } from './values.ts';

export type CdcDeadLetterCode = 'CDC_NUL_IN_TEXT' | 'CDC_INVALID_DATE';

export interface CdcDeadLetter {
  code: CdcDeadLetterCode;
  reason: string;
  table: string;
  primaryKeyJson: string | null;
  /** The original bytes: the row's JSON with U+0000 kept, or the source's text of the value. */
  payload: string;
  details: Record<string, unknown>;
}

export const NUL_REASON =
  'warning: text held U+0000, which jsonb cannot store; the row landed with U+FFFD in its place (payload: the row with the original text)';
export const INVALID_DATE_REASON =
  'warning: a date or datetime with no real day (zero date or a zero month/day, allowed by the server sql_mode) landed as null (payload: the value as the server holds it)';

export function invalidDateLetters(
  table: string,
  primaryKeyJson: string | null,
  operation: string,
  issues: readonly ValueIssue[],
): CdcDeadLetter[] {
  return issues.map((issue) => ({
    code: 'CDC_INVALID_DATE',
    reason: INVALID_DATE_REASON,
    table,
    primaryKeyJson,
    payload: issue.raw,
    details: {
      table,
      primary_key: primaryKeyJson === null ? null : (JSON.parse(primaryKeyJson) as unknown),
      column: issue.column,
      raw_value: issue.raw,
      operation,
    },
  }));
}

export function nulLetter(table: string, primaryKeyJson: string | null, operation: string, originalJson: string): CdcDeadLetter {
  return {
    code: 'CDC_NUL_IN_TEXT',
    reason: NUL_REASON,
    table,
    primaryKeyJson,
    payload: originalJson,
    details: {
      table,
      primary_key: primaryKeyJson === null ? null : (JSON.parse(primaryKeyJson.replaceAll('\\u0000', '\\ufffd')) as unknown),
      operation,
    },
  };
}

/** One INSERT for any number of letters, all at `position` ('file:pos' or 'snapshot-id:table'). */
export async function insertDeadLetters(client: pg.ClientBase, letters: readonly (CdcDeadLetter & { position: string })[]): Promise<void> {
  if (letters.length === 0) return;
  await client.query(
    `insert into raw.dead_letters (source, source_position, error_code, reason, details, payload, payload_bytes)
     select $6, l.position, l.code, l.reason, l.details::jsonb, convert_to(l.payload, 'UTF8'), octet_length(convert_to(l.payload, 'UTF8'))
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) with ordinality as l(position, code, reason, details, payload, n)
      order by l.n`,
    [
      letters.map((l) => l.position),
      letters.map((l) => l.code),
      letters.map((l) => l.reason),
      letters.map((l) => JSON.stringify(l.details)),
      letters.map((l) => l.payload),
      DEAD_LETTER_SOURCE.cdc,
    ],
  );
}
