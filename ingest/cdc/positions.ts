/**
 * ingest.cdc_positions: where the ingestor resumes. Always written inside the same Postgres
 * transaction as the rows it covers, so rows and position can never disagree.
 */
import type pg from 'pg';

export type SnapshotState = 'pending' | 'running' | 'done';

export interface SnapshotProgress {
  /** Tables fully copied by the running snapshot. */
  tablesDone?: string[];
  /** Highest change_id before the snapshot began: its rows all lie above it. */
  changeIdFloor?: string;
  startedAt?: string;
  rows?: number;
  /** Set while a re-snapshot of a replaced source runs, so a retry still ends the old world's rows. */
  replacedSource?: string;
}

/** The source world a position belongs to (source-identity.ts). */
export interface SourceIdentity {
  flavor: 'mariadb' | 'mysql';
  serverUuid: string | null;
  gtidDomainId: number | null;
  /** GTID position of the server at the snapshot's coordinate (MariaDB BINLOG_GTID_POS). */
  gtidPos: string | null;
}

export interface CdcPosition {
  sourceName: string;
  binlogFile: string | null;
  binlogPosition: number | null;
  gtid: string | null;
  snapshotId: string | null;
  snapshotState: SnapshotState;
  snapshotProgress: SnapshotProgress;
  sourceIdentity?: SourceIdentity | null;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

export async function readPosition(db: Queryable, sourceName: string): Promise<CdcPosition | null> {
  const result = await db.query<{
    binlog_file: string | null;
    binlog_position: string | null;
    gtid: string | null;
    snapshot_id: string | null;
    snapshot_state: SnapshotState;
    snapshot_progress: SnapshotProgress;
    source_identity: SourceIdentity | null;
  }>(
    'select binlog_file, binlog_position, gtid, snapshot_id, snapshot_state, snapshot_progress, source_identity from ingest.cdc_positions where source_name = $1',
    [sourceName],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    sourceName,
    binlogFile: row.binlog_file,
    binlogPosition: row.binlog_position === null ? null : Number(row.binlog_position),
    gtid: row.gtid,
    snapshotId: row.snapshot_id,
    snapshotState: row.snapshot_state,
    snapshotProgress: row.snapshot_progress ?? {},
    sourceIdentity: row.source_identity,
  };
}

export async function writePosition(db: Queryable, position: CdcPosition): Promise<void> {
  await db.query(
    `insert into ingest.cdc_positions as p (source_name, binlog_file, binlog_position, gtid, snapshot_id, snapshot_state, snapshot_progress, source_identity, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, now())
     on conflict (source_name) do update set binlog_file = excluded.binlog_file, binlog_position = excluded.binlog_position,
       gtid = excluded.gtid, snapshot_id = excluded.snapshot_id, snapshot_state = excluded.snapshot_state,
       snapshot_progress = excluded.snapshot_progress, source_identity = coalesce(excluded.source_identity, p.source_identity), updated_at = now()`,
    [
      position.sourceName,
      position.binlogFile,
      position.binlogPosition,
      position.gtid,
      position.snapshotId,
      position.snapshotState,
      JSON.stringify(position.snapshotProgress),
      position.sourceIdentity ? JSON.stringify(position.sourceIdentity) : null,
    ],
  );
}

/** Only the binlog coordinates move while streaming; snapshot fields stay as they are. */
export async function advanceBinlogPosition(
  db: Queryable,
  sourceName: string,
  file: string,
  position: number,
  gtid: string | null,
): Promise<void> {
  const result = await db.query(
    `update ingest.cdc_positions set binlog_file = $2, binlog_position = $3, gtid = coalesce($4, gtid), updated_at = now()
      where source_name = $1 and snapshot_state = 'done'`,
    [sourceName, file, position, gtid],
  );
  if (result.rowCount !== 1)
    throw new Error(`ingest.cdc_positions has no completed snapshot for ${sourceName}: cannot advance the binlog position`);
}
