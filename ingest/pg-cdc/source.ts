/**
 * The Postgres shop as a CDC source: its connections (a normal one for checks, catalog reads and
 * the snapshot; a replication one for the slot), the settings logical replication needs, the
 * publication, the tables it covers and their primary keys. Every session prints values under
 * SESSION_SETTINGS, so the snapshot's COPY and the stream's pgoutput text agree.
 */
import pg from 'pg';

import { FatalPipelineError } from '../../lib/errors.ts';
import { pgColumnType, SESSION_SETTINGS, type PgColumnType } from './type-map.ts';

export interface PgSourceInfo {
  url: string;
  database: string;
  /** The only schema captured (its tables land as raw_shop.<table>). */
  schema: string;
  slot: string;
  publication: string;
}

export interface PgTableColumn extends PgColumnType {
  name: string;
}

export interface PgTable {
  name: string;
  columns: PgTableColumn[];
  primaryKey: string[];
}

export function pgSourceFromUrl(url: string, slot: string, publication: string): PgSourceInfo {
  const database = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!database)
    throw new FatalPipelineError('CDC_NO_DATABASE', 'SHOP_PG_URL names no database: give it as postgres://user:pass@host:port/<database>');
  return { url, database, schema: 'public', slot, publication };
}

/** The libpq `options` that apply SESSION_SETTINGS at connection start (replication sessions take no SET before START_REPLICATION). */
export function sessionOptions(): string {
  return Object.entries(SESSION_SETTINGS)
    .map(([name, value]) => `-c ${name}=${value.replaceAll(' ', '\\ ')}`)
    .join(' ');
}

export async function connectSource(source: PgSourceInfo, applicationName: string, replication = false): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: source.url,
    application_name: applicationName,
    options: sessionOptions(),
    keepAlive: true,
    ...(replication ? { replication: 'database' } : {}),
  } as pg.ClientConfig);
  return client;
}

/** Refuses to start on a server without logical decoding, naming the fix. */
export async function checkSourceSettings(client: pg.ClientBase): Promise<void> {
  const result = await client.query<{ wal_level: string; slots: string; senders: string; can_replicate: boolean }>(
    `select current_setting('wal_level') as wal_level, current_setting('max_replication_slots') as slots,
            current_setting('max_wal_senders') as senders,
            (select rolsuper or rolreplication from pg_roles where rolname = current_user) as can_replicate`,
  );
  const row = result.rows[0]!;
  const problems: string[] = [];
  if (row.wal_level !== 'logical')
    problems.push(`wal_level is ${row.wal_level}: set wal_level = logical (postgresql.conf) and restart the server`);
  if (Number(row.slots) < 1) problems.push('max_replication_slots is 0: set it to at least 1 and restart');
  if (Number(row.senders) < 1) problems.push('max_wal_senders is 0: set it to at least 1 and restart');
  if (!row.can_replicate) problems.push('the user of SHOP_PG_URL needs REPLICATION (ALTER ROLE ... REPLICATION) or superuser');
  if (problems.length > 0)
    throw new FatalPipelineError('PG_CDC_SOURCE_SETTINGS', `the Postgres shop is not ready for CDC:\n  ${problems.join('\n  ')}`);
}

/** The publication of every table of the schema, present and future (CREATE TABLE needs nothing more). */
export async function ensurePublication(client: pg.ClientBase, source: PgSourceInfo): Promise<void> {
  const exists = await client.query('select 1 from pg_publication where pubname = $1', [source.publication]);
  if (exists.rowCount === 1) return;
  await client.query(
    `create publication ${pg.escapeIdentifier(source.publication)} for tables in schema ${pg.escapeIdentifier(source.schema)}`,
  );
}

/** Primary key columns of a table, in key order (empty when it has none). */
export async function primaryKeyOf(client: pg.ClientBase, schema: string, table: string): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `select a.attname as name
       from pg_index i
       join pg_class c on c.oid = i.indrelid
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])
      where c.relnamespace = $1::regnamespace and c.relname = $2 and i.indisprimary
      order by array_position(i.indkey::int2[], a.attnum)`,
    [schema, table],
  );
  return result.rows.map((r) => r.name);
}

/** The publication's tables with their columns and keys, as the client's transaction sees them. */
export async function publishedTables(client: pg.ClientBase, source: PgSourceInfo): Promise<PgTable[]> {
  const result = await client.query<{ table_name: string; name: string; type_oid: number; type_mod: number; type_name: string }>(
    `select c.relname as table_name, a.attname as name, a.atttypid::int as type_oid, a.atttypmod as type_mod, t.typname as type_name
       from pg_publication_tables p
       join pg_class c on c.relname = p.tablename and c.relnamespace = p.schemaname::regnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
       join pg_type t on t.oid = a.atttypid
      where p.pubname = $1 and p.schemaname = $2
      order by c.relname, a.attnum`,
    [source.publication, source.schema],
  );
  const tables = new Map<string, PgTable>();
  for (const row of result.rows) {
    let table = tables.get(row.table_name);
    if (!table) tables.set(row.table_name, (table = { name: row.table_name, columns: [], primaryKey: [] }));
    table.columns.push({ name: row.name, ...pgColumnType(row.type_oid, row.type_mod, row.type_name) });
  }
  for (const table of tables.values()) table.primaryKey = await primaryKeyOf(client, source.schema, table.name);
  return [...tables.values()];
}

/** 'X/Y' (pg_lsn text) as a number: exact below 2^53 bytes of WAL (8 PiB). */
export function lsnToNumber(lsn: string): number {
  const [high, low] = lsn.split('/');
  const value = parseInt(high!, 16) * 2 ** 32 + parseInt(low!, 16);
  if (!Number.isSafeInteger(value)) throw new Error(`LSN ${lsn} is beyond what the position table stores exactly`);
  return value;
}

export function numberToLsn(value: number): string {
  return `${Math.floor(value / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(value % 2 ** 32).toString(16).toUpperCase()}`;
}

export interface SlotState {
  exists: boolean;
  active: boolean;
  confirmedFlush: string | null;
}

export async function slotState(client: pg.ClientBase, slot: string): Promise<SlotState> {
  const result = await client.query<{ active: boolean; confirmed_flush_lsn: string | null; database: string }>(
    'select active, confirmed_flush_lsn::text, database from pg_replication_slots where slot_name = $1',
    [slot],
  );
  const row = result.rows[0];
  return row
    ? { exists: true, active: row.active, confirmedFlush: row.confirmed_flush_lsn }
    : { exists: false, active: false, confirmedFlush: null };
}

/** Drops the slot, waiting (bounded) for a walsender of an ingestor that just died to let go of it. */
export async function dropSlot(client: pg.ClientBase, slot: string, waitMs = 15_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const state = await slotState(client, slot);
    if (!state.exists) return;
    if (!state.active) {
      await client.query('select pg_drop_replication_slot($1)', [slot]);
      return;
    }
    if (Date.now() > deadline) throw new Error(`replication slot ${slot} stays in use by another connection`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
