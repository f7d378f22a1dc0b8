/**
 * The Postgres CDC ingestor's status row: whether it runs (it holds the CDC instance lock keyed
 * by its source name), where it stands (its position in ingest.cdc_positions, read as
 * transformer) and its replication slot on the shop server: how far the confirmed LSN is behind
 * the server's WAL, and how much WAL the slot keeps while nobody reads it (a stopped ingestor's
 * slot holds WAL until it comes back; docs/pg-cdc.md).
 */

import { pgSourceName } from '../../ingest/pg-cdc/ingestor.ts';
import { pgSourceFromUrl } from '../../ingest/pg-cdc/source.ts';
import { roleUrl, type Config } from '../../lib/config/index.ts';
import { coerceError } from '../../lib/errors.ts';
import { ago, type Row } from './model.ts';
import { connectForStatus } from './connect.ts';

/** WAL a slot may keep while its ingestor is stopped before status turns yellow. */
const RETAINED_WAL_WARN_BYTES = 1024 ** 3;

interface Position {
  binlog_file: string | null;
  binlog_position: string | null;
  snapshot_state: string;
  updated_at: Date;
}

interface Slot {
  active: boolean;
  /** Bytes between the server's WAL head and the slot's confirmed LSN. */
  behind: string | null;
}

async function warehouseFacts(config: Config, sourceName: string): Promise<{ position: Position | null; running: boolean }> {
  const client = await connectForStatus(roleUrl(config, 'transformer'));
  try {
    const position = await client.query<Position>(
      'select binlog_file, binlog_position::text, snapshot_state, updated_at from ingest.cdc_positions where source_name = $1',
      [sourceName],
    );
    // ingest/cdc/instance-lock.ts: an advisory lock on (hashtext('shopflow-ingest-cdc'), hashtext(source name)).
    const running = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_locks
        where locktype = 'advisory' and granted and objsubid = 2
          and classid = hashtext('shopflow-ingest-cdc')::oid and objid = hashtext($1)::oid`,
      [sourceName],
    );
    return { position: position.rows[0] ?? null, running: (running.rows[0]?.n ?? 0) > 0 };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function slotFacts(config: Config, slot: string): Promise<Slot | null> {
  const client = await connectForStatus(config.SHOP_PG_URL);
  try {
    const result = await client.query<Slot>(
      `select active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text as behind
         from pg_replication_slots where slot_name = $1`,
      [slot],
    );
    return result.rows[0] ?? null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(bytes < 10 * 1024 ** 2 ? 1 : 0)} MB`;

/** `supervised`: the live scheduler runs ingest:pg-cdc (SCHEDULER_INGESTORS), so not running is a failure. */
export async function pgCdcRow(config: Config, now: Date, supervised = false): Promise<Row> {
  const source = pgSourceFromUrl(config.SHOP_PG_URL, config.PG_CDC_SLOT, config.PG_CDC_PUBLICATION);
  const sourceName = pgSourceName(source);
  const { position, running } = await warehouseFacts(config, sourceName);
  const state = running ? 'running' : 'not running';
  if (!position && supervised)
    return {
      name: 'ingest:pg-cdc',
      level: 'fail',
      text: `${state}, no position yet`,
      fix: 'the scheduler should be running it: read its log (.data/logs/scheduler)',
      facts: { running, source: sourceName },
    };
  if (!position)
    return {
      name: 'ingest:pg-cdc',
      level: 'info',
      text: `${state}, nothing captured yet (a shop on Postgres: \`npm run ingest:pg-cdc -- --until-idle 5000\`, docs/pg-cdc.md)`,
      facts: { running, source: sourceName },
    };
  const facts: Record<string, unknown> = {
    running,
    source: sourceName,
    position: position.binlog_file,
    snapshotState: position.snapshot_state,
  };
  const last = `last batch ${ago(position.updated_at, now)}`;
  let slot: Slot | null;
  try {
    slot = await slotFacts(config, source.slot);
  } catch (error) {
    return {
      name: 'ingest:pg-cdc',
      level: 'info',
      text: `${state}, lag unknown (shop Postgres: ${coerceError(error).message.split('\n')[0]}), ${last}`,
      facts,
    };
  }
  if (!slot)
    return {
      name: 'ingest:pg-cdc',
      level: 'fail',
      text: `${state}, the replication slot ${source.slot} is gone from the shop Postgres, ${last}`,
      fix: `the changes since ${position.binlog_file} cannot be read: delete the row of ${sourceName} from ingest.cdc_positions and start the ingestor for a new snapshot (docs/pg-cdc.md, "Failure")`,
      facts,
    };
  const behind = Number(slot.behind ?? 0);
  Object.assign(facts, { slotActive: slot.active, walBytesBehind: behind });
  const snapshot = position.snapshot_state === 'done' ? '' : `, snapshot ${position.snapshot_state}`;
  const text = `${state}, ${mb(behind)} of WAL behind (slot ${source.slot})${snapshot}, ${last}`;
  if (!running && supervised)
    return {
      name: 'ingest:pg-cdc',
      level: 'fail',
      text,
      fix: 'the scheduler should be running it: read its log (.data/logs/scheduler) for why it stopped',
      facts,
    };
  if (!running && behind >= RETAINED_WAL_WARN_BYTES)
    return {
      name: 'ingest:pg-cdc',
      level: 'warn',
      text,
      fix: `the slot keeps this WAL on the shop server until the ingestor reads it: run \`npm run ingest:pg-cdc\`, or drop the slot if the ingestor is retired (select pg_drop_replication_slot('${source.slot}'))`,
      facts,
    };
  return { name: 'ingest:pg-cdc', level: 'ok', text, facts };
}
