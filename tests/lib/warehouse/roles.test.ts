/**
 * The roles do what docs/operations.md ("Roles") promises, by privilege: bi_reader cannot write
 * anything even after turning its read-only default off (it once could create temporary tables,
 * functions and large objects that way); ingest_writer can append to raw and the dead letters
 * but never change or remove a row (it once held UPDATE, DELETE and TRUNCATE, so "append-only"
 * was a convention); bi_reader's statement timeout and connection limit hold. Each forbidden act
 * is tried for real against Postgres and must be refused with permission denied (42501).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl } from '../../../lib/config/index.ts';
import { migrate } from '../../../lib/warehouse/migrate.ts';
import { readerLimitStatements } from '../../../lib/warehouse/roles.ts';
import { uniqueSuffix } from '../../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';

const STATEMENT_TIMEOUT_MS = 400;

let warehouse: TestWarehouse;
let admin: pg.Client;
const opened: pg.Client[] = [];

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-test-roles' });
  client.on('error', () => undefined);
  await client.connect();
  opened.push(client);
  return client;
}

/** The SQLSTATE `sql` fails with ('ok' if it succeeds), inside a transaction that is rolled back. */
async function sqlstate(client: pg.Client, sql: string, begin = 'begin'): Promise<string> {
  await client.query(begin);
  try {
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'no-code';
  } finally {
    await client.query('rollback');
  }
}

beforeAll(async () => {
  warehouse = await createTestWarehouse('roles');
  // This database only: bi_reader's timeout is set per database, so the test can shorten it.
  await migrate({ ...warehouse.config, WAREHOUSE_BI_STATEMENT_TIMEOUT_MS: STATEMENT_TIMEOUT_MS });
  admin = await connect(warehouse.adminUrl);
  const transformer = await connect(roleUrl(warehouse.config, 'transformer'));
  await transformer.query(`create table marts.role_probe (day date primary key, revenue numeric not null);
    insert into marts.role_probe values ('2024-01-01', 10)`);
  await admin.query(`
    insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload)
    values ('shop.events', 0, 0, 'k', 'e-1', 'page_view', '2024-01-01', '{}');
    insert into raw.shop_changes (source_database, table_name, operation, primary_key, after_image, snapshot_id)
    values ('shop', 'customers', 'snapshot', '{"customer_id": 1}', '{"customer_id": 1}', 'snap-done'),
           ('shop', 'customers', 'snapshot', '{"customer_id": 2}', '{"customer_id": 2}', 'snap-running');
    insert into raw.dead_letters (source, error_code, reason) values ('kafka', 'INVALID_JSON', 'probe');
    insert into ingest.cdc_positions (source_name, snapshot_id, snapshot_state) values ('shop-done', 'snap-done', 'done');
    insert into ingest.cdc_positions (source_name, snapshot_id, snapshot_state) values ('shop-running', 'snap-running', 'running');`);
});

afterAll(async () => {
  for (const client of opened.reverse()) await client.end().catch(() => undefined);
  await warehouse?.drop();
});

describe('bi_reader, with its session switched back to read-write', () => {
  let reader: pg.Client;
  beforeAll(async () => {
    reader = await connect(roleUrl(warehouse.config, 'bi_reader'));
    await reader.query('set default_transaction_read_only = off');
  });

  it.each([
    ['insert into a mart', `insert into marts.role_probe values ('2024-01-02', 1)`],
    ['update a mart', 'update marts.role_probe set revenue = 0'],
    ['delete from a mart', 'delete from marts.role_probe'],
    ['insert into raw', `insert into raw.dead_letters (source, error_code, reason) values ('kafka', 'x', 'x')`],
    ['create a temporary table', 'create temporary table scratch (x int)'],
    ['create a temporary function', `create function pg_temp.f() returns int language sql as 'select 1'`],
    ['create a function in public', `create function public.f() returns int language sql as 'select 1'`],
    ['create a function in marts', `create function marts.f() returns int language sql as 'select 1'`],
    ['create a table in public', 'create table public.intruder (x int)'],
    ['create a schema', 'create schema intruder'],
    ['create a large object', 'select lo_create(0)'],
    ['create a large object from bytes', `select lo_from_bytea(0, 'x')`],
  ])('cannot %s', async (_what, sql) => {
    expect(await sqlstate(reader, sql)).toBe('42501');
  });

  it('cannot write inside BEGIN READ WRITE either', async () => {
    expect(await sqlstate(reader, `insert into marts.role_probe values ('2024-01-02', 1)`, 'begin read write')).toBe('42501');
    expect(await sqlstate(reader, 'create temporary table scratch (x int)', 'begin read write')).toBe('42501');
  });

  it('holds no write privilege on any table, schema or database', async () => {
    const { rows } = await admin.query<{ what: string }>(`
      select 'table ' || c.oid::regclass::text || ' ' || p.privilege as what
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        cross join unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'MAINTAIN']) as p(privilege)
       where c.relkind in ('r', 'p', 'v', 'm', 'f')
         and n.nspname not in ('pg_catalog', 'information_schema')
         and has_table_privilege('bi_reader', c.oid, p.privilege)
      union all
      select 'schema ' || nspname || ' CREATE' from pg_namespace where has_schema_privilege('bi_reader', oid, 'CREATE')
      union all
      select 'database ' || p.privilege from unnest(array['CREATE', 'TEMPORARY']) as p(privilege)
       where has_database_privilege('bi_reader', current_database(), p.privilege)
      union all
      select 'sequence ' || c.oid::regclass::text from pg_class c where c.relkind = 'S'
         and (has_sequence_privilege('bi_reader', c.oid, 'USAGE') or has_sequence_privilege('bi_reader', c.oid, 'UPDATE'))`);
    expect(rows.map((r) => r.what)).toEqual([]);
  });

  it('leaves the mart unchanged', async () => {
    const { rows } = await admin.query('select count(*)::int as n, sum(revenue)::int as total from marts.role_probe');
    expect(rows).toEqual([{ n: 1, total: 10 }]);
  });
});

describe('bi_reader limits', () => {
  it('ends a long statement at the configured statement timeout', async () => {
    const reader = await connect(roleUrl(warehouse.config, 'bi_reader'));
    expect((await reader.query('show statement_timeout')).rows[0]).toEqual({ statement_timeout: `${STATEMENT_TIMEOUT_MS}ms` });
    const started = Date.now();
    expect(await sqlstate(reader, 'select pg_sleep(10)')).toBe('57014');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('carries the configured connection limit', async () => {
    const { rows } = await admin.query(`select rolconnlimit from pg_roles where rolname = 'bi_reader'`);
    expect(rows).toEqual([{ rolconnlimit: warehouse.config.WAREHOUSE_BI_CONNECTION_LIMIT }]);
  });

  it('refuses the connection past the limit (shown on a scratch role given the same treatment, so bi_reader is never exhausted for other tests)', async () => {
    const role = `t_reader_probe_${uniqueSuffix()}`;
    await admin.query(`create role ${role} login password 'probe'`);
    try {
      for (const statement of readerLimitStatements(role, warehouse.database, { statementTimeoutMs: 60_000, connectionLimit: 2 }))
        await admin.query(statement);
      const url = new URL(warehouse.adminUrl);
      url.username = role;
      url.password = 'probe';
      const held = [await connect(url.toString()), await connect(url.toString())];
      const third = await connect(url.toString()).then(
        () => 'connected',
        (error: unknown) => (error as { code?: string }).code,
      );
      expect(third).toBe('53300');
      for (const client of held) await client.end();
    } finally {
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = '${role}'`);
      await admin.query(`drop role if exists ${role}`);
    }
  });
});

describe('ingest_writer', () => {
  let writer: pg.Client;
  beforeAll(async () => {
    writer = await connect(roleUrl(warehouse.config, 'ingest_writer'));
  });

  it.each([
    ['update raw.shop_events', `update raw.shop_events set event_type = 'x'`],
    ['delete from raw.shop_events', 'delete from raw.shop_events'],
    ['truncate raw.shop_events', 'truncate raw.shop_events'],
    ['update raw.shop_changes', `update raw.shop_changes set operation = 'delete'`],
    ['delete from raw.shop_changes', 'delete from raw.shop_changes'],
    ['truncate raw.shop_changes', 'truncate raw.shop_changes'],
    ['update a dead letter', `update raw.dead_letters set reason = 'x'`],
    ['delete a dead letter', 'delete from raw.dead_letters'],
    ['truncate the dead letters', 'truncate raw.dead_letters'],
    ['delete a position', 'delete from ingest.cdc_positions'],
    ['truncate the offsets', 'truncate ingest.kafka_offsets'],
    ['forge a completed-snapshot record', `insert into ingest.cdc_snapshots_completed (snapshot_id, source_name) values ('x', 'y')`],
    ['delete a completed-snapshot record', 'delete from ingest.cdc_snapshots_completed'],
  ])('cannot %s', async (_what, sql) => {
    expect(await sqlstate(writer, sql)).toBe('42501');
  });

  it('appends to raw and the dead letters, and moves its positions', async () => {
    expect(await sqlstate(writer, `insert into raw.dead_letters (source, error_code, reason) values ('kafka', 'x', 'x')`)).toBe('ok');
    expect(
      await sqlstate(
        writer,
        `insert into raw.shop_events (topic, kafka_partition, kafka_offset, event_id, event_type, event_time, payload) values ('t', 0, 1, 'e', 'page_view', now(), '{}')`,
      ),
    ).toBe('ok');
    expect(await sqlstate(writer, `update ingest.cdc_positions set binlog_position = 4 where source_name = 'shop-done'`)).toBe('ok');
  });

  it('creates and widens typed change-log tables only through the migration-owned function, then may only append to them', async () => {
    const ensure = (types: string[]) =>
      `select ingest.cdc_ensure_typed_table('probe_t', array['id', 'amount'], array[${types.map((t) => `'${t}'`).join(', ')}])`;
    await writer.query(ensure(['bigint', 'numeric(12,2)']));
    await writer.query(`insert into raw_shop.probe_t (operation, id, amount) values ('snapshot', 1, 1.50)`);
    // Widened in place (a source MODIFY): the old value is kept, at the new scale.
    await writer.query(ensure(['bigint', 'numeric(14,4)']));
    expect((await writer.query('select amount::text as amount from raw_shop.probe_t')).rows).toEqual([{ amount: '1.5000' }]);
    // Only the type map's vocabulary: a type name is never spliced into DDL unchecked.
    expect(await sqlstate(writer, ensure(['bigint', 'numeric; drop table raw.shop_changes']))).toBe('22023');
    for (const sql of [
      `update raw_shop.probe_t set amount = 0`,
      'delete from raw_shop.probe_t',
      'truncate raw_shop.probe_t',
      'alter table raw_shop.probe_t add column x int',
      'drop table raw_shop.probe_t',
      'create table raw_shop.intruder (id int)',
    ])
      expect(await sqlstate(writer, sql), sql).toBe('42501');
    // Change ids for a binlog batch: a block, only forward.
    const first = Number((await writer.query('select ingest.cdc_reserve_change_ids(10) as id')).rows[0].id);
    const next = Number((await writer.query('select ingest.cdc_reserve_change_ids(1) as id')).rows[0].id);
    expect(next).toBe(first + 10);
    const transformer = await connect(roleUrl(warehouse.config, 'transformer'));
    try {
      expect((await transformer.query('select count(*)::int as n from raw_shop.probe_t')).rows).toEqual([{ n: 1 }]);
    } finally {
      await transformer.end();
    }
  });

  it('holds no UPDATE, DELETE or TRUNCATE on any raw table (including ones a later migration adds)', async () => {
    // A file source's typed table, made the way the file ingestor makes it (migration 0240).
    await writer.query(`select ingest.files_ensure_typed_table('probe_files', array['id'], array['bigint'])`);
    const { rows } = await admin.query<{ what: string }>(`
      select c.oid::regclass::text || ' ' || p.privilege as what
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        cross join unnest(array['UPDATE', 'DELETE', 'TRUNCATE']) as p(privilege)
       where n.nspname in ('raw', 'raw_shop', 'raw_files') and c.relkind in ('r', 'p')
         and has_table_privilege('ingest_writer', c.oid, p.privilege)`);
    expect(rows.map((r) => r.what)).toEqual([]);
  });

  it('discards the rows of the running, interrupted snapshot only, never those of a completed one', async () => {
    expect(await sqlstate(writer, `select ingest.discard_interrupted_snapshot('shop-done', 'snap-done', 0)`)).toBe('42501');
    // Pretending the completed snapshot is running again does not help: its completion is recorded.
    await admin.query(`update ingest.cdc_positions set snapshot_state = 'running' where source_name = 'shop-done'`);
    expect(await sqlstate(writer, `select ingest.discard_interrupted_snapshot('shop-done', 'snap-done', 0)`)).toBe('42501');
    const { rows } = await writer.query(`select ingest.discard_interrupted_snapshot('shop-running', 'snap-running', 0)::int as deleted`);
    expect(rows).toEqual([{ deleted: 1 }]);
    const left = await admin.query(`select snapshot_id from raw.shop_changes order by change_id`);
    expect(left.rows).toEqual([{ snapshot_id: 'snap-done' }]);
  });

  it('records a snapshot as completed when its position says done', async () => {
    await writer.query(
      `insert into ingest.cdc_positions (source_name, snapshot_id, snapshot_state) values ('shop-new', 'snap-new', 'running')`,
    );
    await writer.query(`update ingest.cdc_positions set snapshot_state = 'done' where source_name = 'shop-new'`);
    const { rows } = await admin.query(`select source_name from ingest.cdc_snapshots_completed where snapshot_id = 'snap-new'`);
    expect(rows).toEqual([{ source_name: 'shop-new' }]);
  });
});
