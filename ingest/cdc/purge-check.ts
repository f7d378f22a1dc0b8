/**
 * Before following the binlog from a stored position, make sure the server still has it. A
 * purged binlog means changes were lost to us: stop and say so, never skip ahead.
 */
import type mysql from 'mysql2/promise';

import { BinlogPurgedError } from './errors.ts';
import { availableBinlogs, fileSequence, type BinlogCoordinate } from './source.ts';

export const RESNAPSHOT_COMMAND = 'npm run ingest:cdc -- --resnapshot';

export function purgedMessage(sourceName: string, stored: BinlogCoordinate, available: readonly string[]): string {
  const oldest = available[0] ?? '(none)';
  const newest = available.at(-1) ?? '(none)';
  const gap =
    available.length > 0 && fileSequence(stored.file) > fileSequence(newest)
      ? `the stored file is newer than anything on the server (was the binlog reset?)`
      : `everything between ${stored.file}:${stored.position} and the start of ${oldest} is gone`;
  return (
    `CDC cannot resume ${sourceName}: the stored binlog position ${stored.file}:${stored.position} is no longer on the source ` +
    `(oldest available binlog: ${oldest}, newest: ${newest}); ${gap}. ` +
    `Changes in that gap cannot be read, so the ingestor stops instead of skipping them. ` +
    `Take a fresh snapshot with: ${RESNAPSHOT_COMMAND} ` +
    `(and raise expire_logs_days / binlog_expire_logs_seconds so the binlog outlives ingestor downtime).`
  );
}

export async function assertBinlogAvailable(control: mysql.Connection, sourceName: string, stored: BinlogCoordinate): Promise<void> {
  const available = await availableBinlogs(control);
  if (!available.includes(stored.file)) throw new BinlogPurgedError(purgedMessage(sourceName, stored, available));
}
