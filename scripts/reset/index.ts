/**
 * `npm run reset`: back to an empty installation without reinstalling anything. Stops the
 * ingestors (found by their warehouse sessions), empties the shop database's tables, deletes
 * and recreates the clickstream topic and its consumer group, and empties the warehouse's data:
 * raw.*, ingest.* (positions, offsets), ops.* (the run ledger of the old world) and every
 * relation dbt built. Roles, schemas, grants and migrations stay; so do .data/kafka/lib, the
 * Python venvs and Superset.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import mysql from 'mysql2/promise';
import pg from 'pg';

import type { Config } from '../../lib/config/index.ts';
import { DBT_PROJECT_DIR } from '../../lib/dbt/run.ts';
import { ShopflowError } from '../../lib/errors.ts';
import { deleteTopic, ensureTopic, withKafkaAdmin } from '../../lib/kafka/admin.ts';
import type { Logger } from '../../lib/logger.ts';
import { MIGRATIONS_DIR } from '../../lib/warehouse/migrate.ts';
import { ensureSchema } from '../../generator/sinks/mariadb.ts';
import { sessionHolders } from './holders.ts';

const INGESTOR_SESSIONS = ['shopflow-ingest-kafka', 'shopflow-ingest-cdc', 'shopflow-ingest-cdc-lock'];
const SCHEDULER_SESSIONS = ['shopflow-scheduler-lock', 'shopflow-scheduler'];
/** Schemas whose relations all belong to dbt (migrations create the schemas, dbt what is in them). */
export const DBT_SCHEMAS = ['staging', 'snapshots', 'intermediate', 'marts'];
// raw_shop: the CDC ingestor's typed change log (migration 0140), and raw_files: the file
// sources' typed tables (migration 0240), emptied with the rest of raw.
const DATA_SCHEMAS = ['raw', 'raw_shop', 'raw_files', 'ingest', 'ops'];

/**
 * Tables the migrations create inside dbt's schemas (the clickstream batches' bookkeeping, the
 * forecaster's output): data to empty, not relations to drop, since no dbt build re-creates
 * them. Read from the migrations themselves, so a new one is never forgotten here.
 */
export function migrationTablesInDbtSchemas(): Set<string> {
  const found = new Set<string>();
  for (const file of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'))) {
    const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
    for (const m of sql.matchAll(/create\s+table\s+(?:if\s+not\s+exists\s+)?(\w+)\.(\w+)/gi)) {
      if (DBT_SCHEMAS.includes(m[1]!.toLowerCase())) found.add(`${m[1]!.toLowerCase()}.${m[2]!.toLowerCase()}`);
    }
  }
  return found;
}

export interface ResetSummary {
  stoppedIngestors: number[];
  shopTables: number;
  topic: string;
  truncated: number;
  dropped: number;
}

async function withAdmin<T>(config: Config, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: config.WAREHOUSE_URL,
    application_name: 'shopflow-reset',
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM each ingestor holding a warehouse session, and wait for it to drain and exit. */
async function stopIngestors(config: Config, logger: Logger): Promise<number[]> {
  return withAdmin(config, async (admin) => {
    const scheduler = await sessionHolders(admin, SCHEDULER_SESSIONS);
    if (scheduler.length > 0) {
      throw new ShopflowError(
        'SHOPFLOW_RESET_SCHEDULER_RUNNING',
        `a scheduler is running${scheduler[0]!.pid ? ` (pid ${scheduler[0]!.pid})` : ''} and would restart the ingestors: stop it first (SIGTERM), then run reset again`,
      );
    }
    const holders = await sessionHolders(admin, INGESTOR_SESSIONS);
    const remote = holders.filter((h) => h.pid === null);
    if (remote.length > 0) {
      const where = remote.map((h) => `${h.applicationName} from ${h.clientAddress ?? 'a local socket'}:${h.clientPort ?? '?'}`).join(', ');
      throw new ShopflowError(
        'SHOPFLOW_RESET_INGESTOR_ELSEWHERE',
        `an ingestor this host cannot stop still works on the warehouse (${where}): stop it where it runs, then run reset again`,
      );
    }
    const pids = [...new Set(holders.map((h) => h.pid!))];
    for (const pid of pids) {
      logger.info({ pid }, 'stopping ingestor (SIGTERM: it commits its batch in flight)');
      process.kill(pid, 'SIGTERM');
    }
    const deadline = Date.now() + 90_000;
    while (pids.some(alive)) {
      if (Date.now() > deadline)
        throw new ShopflowError(
          'SHOPFLOW_RESET_INGESTOR_STUCK',
          `ingestor pid ${pids.filter(alive).join(', ')} did not exit within 90 s of SIGTERM: stop it, then run reset again`,
        );
      await sleep(250);
    }
    return pids;
  });
}

async function emptyShop(config: Config): Promise<number> {
  const connection = await mysql.createConnection({ uri: config.SHOP_DB_URL, connectTimeout: 10_000, multipleStatements: false });
  connection.on('error', () => undefined);
  try {
    // The generator's own DDL: the contract's tables dropped and created empty.
    await ensureSchema(connection, { reset: true });
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      'select count(*) as n from information_schema.tables where table_schema = database()',
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await connection.end().catch(() => undefined);
  }
}

async function emptyTopic(config: Config): Promise<void> {
  await deleteTopic(config.KAFKA_BROKERS, config.KAFKA_TOPIC);
  await withKafkaAdmin(config.KAFKA_BROKERS, async (admin) => {
    // Kafka's own (advisory) offsets for the group; the real ones are in ingest.kafka_offsets.
    await admin.deleteGroups([config.KAFKA_GROUP_ID]).catch(() => undefined);
  });
  await ensureTopic(config.KAFKA_BROKERS, config.KAFKA_TOPIC, config.KAFKA_PARTITIONS, { clientId: `${config.KAFKA_CLIENT_ID}-reset` });
}

async function emptyWarehouse(config: Config): Promise<{ truncated: number; dropped: number }> {
  return withAdmin(config, async (client) => {
    await client.query('begin');
    try {
      const relations = await client.query<{ schema: string; name: string; kind: string }>(
        `select n.nspname as schema, c.relname as name, c.relkind as kind
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'f')
            and not exists (select 1 from pg_inherits i where i.inhrelid = c.oid)`,
        [[...DATA_SCHEMAS, ...DBT_SCHEMAS]],
      );
      const id = (r: { schema: string; name: string }) => `${pg.escapeIdentifier(r.schema)}.${pg.escapeIdentifier(r.name)}`;
      // ops.schema_migrations is the migrations' own bookkeeping, not data: kept.
      const migrationOwned = migrationTablesInDbtSchemas();
      const ownedByMigrations = (r: { schema: string; name: string }) => migrationOwned.has(`${r.schema}.${r.name}`);
      const data = relations.rows.filter(
        (r) =>
          (DATA_SCHEMAS.includes(r.schema) || ownedByMigrations(r)) &&
          (r.kind === 'r' || r.kind === 'p') &&
          !(r.schema === 'ops' && r.name === 'schema_migrations'),
      );
      if (data.length > 0) await client.query(`truncate ${data.map(id).join(', ')} restart identity cascade`);
      const built = relations.rows.filter((r) => DBT_SCHEMAS.includes(r.schema) && !ownedByMigrations(r));
      const kind: Record<string, string> = { r: 'table', p: 'table', v: 'view', m: 'materialized view', f: 'foreign table' };
      for (const r of built) await client.query(`drop ${kind[r.kind]} if exists ${id(r)} cascade`);
      await client.query('commit');
      return { truncated: data.length, dropped: built.length };
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  });
}

export interface ResetSteps {
  onStep?: (step: string, detail: string) => void;
}

export async function resetInstallation(config: Config, logger: Logger, options: ResetSteps = {}): Promise<ResetSummary> {
  const step = options.onStep ?? (() => undefined);
  const stoppedIngestors = await stopIngestors(config, logger);
  step('ingestors', stoppedIngestors.length === 0 ? 'none running' : `stopped pid ${stoppedIngestors.join(', ')}`);
  const shopTables = await emptyShop(config);
  step('shop', `${shopTables} tables, empty`);
  await emptyTopic(config);
  step(
    'kafka',
    `topic ${config.KAFKA_TOPIC} recreated empty (${config.KAFKA_PARTITIONS} partitions), group ${config.KAFKA_GROUP_ID} deleted`,
  );
  const { truncated, dropped } = await emptyWarehouse(config);
  step('warehouse', `${truncated} tables emptied in raw, raw_shop, raw_files, ingest and ops; ${dropped} dbt relations dropped`);
  // The last dbt results describe the old world (npm run status reads them).
  await rm(join(DBT_PROJECT_DIR, 'target', 'run_results.json'), { force: true });
  await rm(join(config.dataDir, 'dbt', 'scheduler', 'target', 'run_results.json'), { force: true });
  return { stoppedIngestors, shopTables, topic: config.KAFKA_TOPIC, truncated, dropped };
}
