/**
 * After a repeated snapshot (--resnapshot, e.g. after a binlog purge), rows deleted on the source
 * while nothing was captured would otherwise live on in the derived current state. Every key whose
 * latest logged state is alive but which the new snapshot did not see gets a synthetic 'delete'
 * change (before_image = its last known image), tagged with the new snapshot_id.
 *
 * One pass over the log before the snapshot: the latest change per key, minus keys cleared by a
 * later truncate, anti-joined (hash) with the new snapshot's keys.
 */
import type pg from 'pg';

import type { RawLayout } from './change.ts';
import type { BinlogCoordinate } from './source.ts';
import { quoteIdent, TYPED_META_COLUMNS, TYPED_SCHEMA, typedTableColumns, typedTableName } from './typed-tables.ts';

export interface ResnapshotDeletes {
  sourceDatabase: string;
  snapshotId: string;
  changeIdFloor: string;
  coordinate: BinlogCoordinate;
  startedAt: string;
  layout?: RawLayout;
}

/**
 * The rows a re-snapshot finds gone, in the jsonb layout: each key's latest change up to the
 * floor (the log before the snapshot), unless a later truncate cleared its table, that is alive
 * and absent from the new snapshot's rows. One text for the warehouse's deletes and the change
 * topic's (gone rows below), given the placeholders of the source database, the change-id floor
 * and the snapshot id.
 */
const jsonbGoneCte = (database: string, floor: string, snapshot: string) => `with truncates as (
       select table_name, max(change_id) as change_id
         from raw.shop_changes
        where change_id <= ${floor} and source_database = ${database} and operation = 'truncate'
        group by table_name
     ), latest as (
       select distinct on (table_name, primary_key) source_database, table_name, primary_key, operation, after_image, change_id
         from raw.shop_changes
        where change_id <= ${floor} and source_database = ${database} and primary_key is not null
          and operation in ('snapshot', 'insert', 'update', 'delete')
        order by table_name, primary_key, change_id desc
     ), fresh as (
       select table_name, primary_key from raw.shop_changes where change_id > ${floor} and snapshot_id = ${snapshot}
     )`;
const JSONB_GONE_FROM = `from latest
       left join truncates on truncates.table_name = latest.table_name
       left join fresh on fresh.table_name = latest.table_name and fresh.primary_key = latest.primary_key
      where latest.operation <> 'delete'
        and latest.change_id > coalesce(truncates.change_id, 0)
        and fresh.primary_key is null
      order by latest.table_name, latest.change_id`;

export async function resnapshotDeletes(client: pg.ClientBase, args: ResnapshotDeletes): Promise<number> {
  // The snapshot rows were written moments ago, so the table's statistics still say "few rows":
  // the planner would pick a nested-loop anti join, quadratic in the table size. Hash or merge it.
  await client.query('set local enable_nestloop = off');
  if (args.layout === 'typed') return typedResnapshotDeletes(client, args);
  const result = await client.query(
    `${jsonbGoneCte('$1', '$2', '$5')}
     insert into raw.shop_changes (source_database, table_name, operation, primary_key, before_image, after_image,
                                   binlog_file, binlog_position, snapshot_id, source_committed_at)
     select latest.source_database, latest.table_name, 'delete', latest.primary_key, latest.after_image, null,
            $3, $4, $5, $6::timestamptz
       ${JSONB_GONE_FROM}`,
    [args.sourceDatabase, args.changeIdFloor, args.coordinate.file, args.coordinate.position, args.snapshotId, args.startedAt],
  );
  return result.rowCount ?? 0;
}

export interface EndReplacedWorld {
  sourceDatabase: string;
  snapshotId: string;
  coordinate: BinlogCoordinate;
  startedAt: string;
  reason: string;
  layout?: RawLayout;
}

/** The source tables that have a typed change log (a long name's relation maps back, migration 0221). */
async function typedTables(client: pg.ClientBase): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `select coalesce(named.source_table, c.relname) as name
       from pg_class c left join ingest.cdc_typed_table_sources named on named.relation_name = c.relname
      where c.relnamespace = $1::regnamespace and c.relkind = 'r' order by 1`,
    [TYPED_SCHEMA],
  );
  return result.rows.map((r) => r.name);
}

/** The typed layout's gone rows of one raw_shop table ($1 table, $2 source database, $3 floor, $4 snapshot id). */
function typedGoneCte(relation: string): string {
  return `with last_truncate as (
         select coalesce(max(change_id), 0) as change_id from raw.shop_changes
          where table_name = $1 and source_database = $2 and operation = 'truncate' and change_id <= $3
       ), latest as (
         select distinct on (_key) * from ${relation}
          where change_id <= $3 and _key is not null
          order by _key, change_id desc
       ), fresh as (
         select _key from ${relation} where change_id > $3 and snapshot_id = $4
       )`;
}
const TYPED_GONE_FROM = `from latest
        where latest.operation <> 'delete'
          and latest.change_id > (select change_id from last_truncate)
          and not exists (select 1 from fresh where fresh._key = latest._key)
        order by latest.change_id`;

/**
 * The typed layout's version: the same comparison per raw_shop table, keyed by `_key`; the
 * synthetic delete carries the key's last known values in the table's columns (as every delete
 * row does: its before-image).
 */
async function typedResnapshotDeletes(client: pg.ClientBase, args: ResnapshotDeletes): Promise<number> {
  const tables = await typedTables(client);
  const columns = await typedTableColumns(client, tables);
  let total = 0;
  for (const table of tables) {
    const names = (columns.get(table) ?? []).map((c) => quoteIdent(c.name));
    const relation = typedTableName(table);
    const result = await client.query(
      `${typedGoneCte(relation)}
       insert into ${relation} (operation, binlog_file, binlog_position, snapshot_id, source_committed_at, _key, _unmapped${names.map((n) => `, ${n}`).join('')})
       select 'delete', $5, $6, $4, $7::timestamptz, latest._key, latest._unmapped${names.map((n) => `, latest.${n}`).join('')}
         ${TYPED_GONE_FROM}`,
      [table, args.sourceDatabase, args.changeIdFloor, args.snapshotId, args.coordinate.file, args.coordinate.position, args.startedAt],
    );
    total += result.rowCount ?? 0;
  }
  return total;
}

/**
 * A replaced source (a restore, a reset shop): nothing logged before is part of the new world, not
 * even keys the new snapshot finds again. Every table logged so far gets a truncate tagged with
 * the new snapshot_id (discarded with it if the snapshot is cut off), written before its rows.
 */
export async function endReplacedWorld(client: pg.ClientBase, args: EndReplacedWorld): Promise<number> {
  const result = await client.query(
    `insert into raw.shop_changes (source_database, table_name, operation, binlog_file, binlog_position, snapshot_id, source_committed_at, ddl)
     select $1, tables.table_name, 'truncate', $2, $3, $4, $5::timestamptz, $6
       from (select distinct table_name from raw.shop_changes where source_database = $1
             union select coalesce(named.source_table, c.relname::text) from pg_class c
                     left join ingest.cdc_typed_table_sources named on named.relation_name = c.relname
                    where c.relnamespace = 'raw_shop'::regnamespace and c.relkind = 'r' and $7) as tables
      order by tables.table_name`,
    [
      args.sourceDatabase,
      args.coordinate.file,
      args.coordinate.position,
      args.snapshotId,
      args.startedAt,
      `-- source replaced: ${args.reason}`,
      args.layout === 'typed',
    ],
  );
  return result.rowCount ?? 0;
}

/** A row a re-snapshot found gone: its key and last known image (the before-image of its delete). */
export interface GoneRow {
  tableName: string;
  primaryKey: Record<string, unknown>;
  lastImage: Record<string, unknown> | null;
}

/**
 * The rows resnapshotDeletes is about to log as deletes, read without writing: the change topic
 * publishes the same deletes with the snapshot (change-topic.ts). Call once every table of the
 * snapshot is in the warehouse and before it completes. In the typed layout the last image is
 * the row's typed columns (plus what went to `_unmapped`), as the warehouse holds it.
 */
export async function resnapshotGoneRows(
  client: pg.ClientBase,
  args: Omit<ResnapshotDeletes, 'coordinate' | 'startedAt'>,
): Promise<GoneRow[]> {
  if (args.layout !== 'typed') {
    const result = await client.query<{
      table_name: string;
      primary_key: Record<string, unknown>;
      after_image: Record<string, unknown> | null;
    }>(
      `${jsonbGoneCte('$1', '$2', '$3')}
       select latest.table_name, latest.primary_key, latest.after_image ${JSONB_GONE_FROM}`,
      [args.sourceDatabase, args.changeIdFloor, args.snapshotId],
    );
    return result.rows.map((r) => ({ tableName: r.table_name, primaryKey: r.primary_key, lastImage: r.after_image }));
  }
  const gone: GoneRow[] = [];
  const meta = TYPED_META_COLUMNS.map((c) => `'${c}'`).join(', ');
  for (const table of await typedTables(client)) {
    const relation = typedTableName(table);
    const result = await client.query<{ primary_key: Record<string, unknown>; image: Record<string, unknown> }>(
      `${typedGoneCte(relation)}
       select latest._key::jsonb as primary_key, (to_jsonb(latest) - array[${meta}]) || coalesce(latest._unmapped, '{}'::jsonb) as image
         ${TYPED_GONE_FROM}`,
      [table, args.sourceDatabase, args.changeIdFloor, args.snapshotId],
    );
    for (const r of result.rows) gone.push({ tableName: table, primaryKey: r.primary_key, lastImage: r.image });
  }
  return gone;
}
