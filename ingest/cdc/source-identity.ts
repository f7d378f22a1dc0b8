/**
 * A replaced source: the database was restored from a backup, rebuilt, or the server was swapped,
 * so the stored binlog position points into a different history. Following it would land the new
 * world's changes on top of the old world's rows (orders whose customers only the old world had).
 * Recognised by the server's UUID (MySQL), its GTID domain, a binlog that restarted below the
 * stored file, or a GTID at the stored coordinate that is not the one the warehouse last landed.
 */
import type mysql from 'mysql2/promise';

import type { CdcPosition, SourceIdentity } from './positions.ts';
import { availableBinlogs, detectFlavor, fileSequence, type BinlogCoordinate } from './source.ts';

type Row = Record<string, unknown>;

async function one(connection: mysql.Connection, sql: string, params: unknown[] = []): Promise<Row | undefined> {
  const [rows] = await connection.query(sql, params);
  return (rows as Row[])[0];
}

/** The GTID position the server reports at `coordinate` (MariaDB), or null (MySQL, or not in its binlog). */
async function gtidPosAt(connection: mysql.Connection, coordinate: BinlogCoordinate): Promise<string | null> {
  const row = await one(connection, 'SELECT BINLOG_GTID_POS(?, ?) AS pos', [coordinate.file, coordinate.position]);
  return row?.pos === null || row?.pos === undefined ? null : String(row.pos);
}

export async function readSourceIdentity(connection: mysql.Connection, coordinate: BinlogCoordinate): Promise<SourceIdentity> {
  const flavor = await detectFlavor(connection);
  if (flavor === 'mysql') {
    const row = await one(connection, 'SELECT @@server_uuid AS uuid');
    return { flavor, serverUuid: row?.uuid ? String(row.uuid) : null, gtidDomainId: null, gtidPos: null };
  }
  const row = await one(connection, 'SELECT @@gtid_domain_id AS domain');
  return { flavor, serverUuid: null, gtidDomainId: Number(row?.domain ?? 0), gtidPos: await gtidPosAt(connection, coordinate) };
}

/** 'd-s-n,d2-s2-n2' -> domain -> GTID. */
function byDomain(gtids: string): Map<string, string> {
  return new Map(
    gtids
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean)
      .map((g) => [g.split('-')[0]!, g]),
  );
}

/**
 * Why the source is not the one the stored position belongs to, or null when it is (or when
 * nothing can tell: a purged binlog is reported by the purge check instead).
 */
export async function replacedSourceReason(connection: mysql.Connection, position: CdcPosition): Promise<string | null> {
  if (position.snapshotState !== 'done' || !position.binlogFile || position.binlogPosition === null) return null;
  const stored = { file: position.binlogFile, position: position.binlogPosition };
  const identity = position.sourceIdentity ?? null;
  const flavor = await detectFlavor(connection);
  if (identity && identity.flavor !== flavor) return `the source was ${identity.flavor} and is now ${flavor}`;
  if (flavor === 'mysql') {
    const uuid = String((await one(connection, 'SELECT @@server_uuid AS uuid'))?.uuid ?? '');
    if (identity?.serverUuid && uuid && uuid !== identity.serverUuid)
      return `the server UUID changed from ${identity.serverUuid} to ${uuid}`;
    return null;
  }
  const domain = Number((await one(connection, 'SELECT @@gtid_domain_id AS domain'))?.domain ?? 0);
  if (identity && identity.gtidDomainId !== null && domain !== identity.gtidDomainId)
    return `the GTID domain changed from ${identity.gtidDomainId} to ${domain}`;
  const available = await availableBinlogs(connection);
  const newest = available.at(-1);
  if (newest && fileSequence(stored.file) > fileSequence(newest)) {
    return `the binlog restarted: the stored position ${stored.file}:${stored.position} is beyond the newest binlog ${newest} (RESET MASTER, or a restore onto a new server)`;
  }
  if (!available.includes(stored.file)) return null;
  const actual = await gtidPosAt(connection, stored);
  if (actual === null) return `the stored position ${stored.file}:${stored.position} is past the end of that binlog on this server`;
  const expected = position.gtid ?? identity?.gtidPos ?? null;
  if (!expected) return null;
  const have = byDomain(actual);
  for (const [d, gtid] of byDomain(expected)) {
    const found = have.get(d);
    if (found !== gtid)
      return `at ${stored.file}:${stored.position} the binlog follows GTID ${found ?? `(none in domain ${d})`}, but the warehouse last landed ${gtid}`;
  }
  return null;
}
