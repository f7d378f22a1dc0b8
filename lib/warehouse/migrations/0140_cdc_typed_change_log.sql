-- The typed CDC change log (docs/cdc.md, "What the raw layout costs, and the layout chosen"):
-- one table per source table in raw_shop, the source's columns with their mapped Postgres
-- types, landed with COPY text. schema_change and truncate rows stay in raw.shop_changes.
--
-- Tables are created and evolved while the ingestor runs (a new source table, a new column), in
-- the same transaction as the rows that need them. ingest_writer may not own them (an owner may
-- update, delete and truncate, and raw is append-only by privilege, migration 0090), so the DDL
-- goes through ingest.cdc_ensure_typed_table below, which only ever creates or widens.

create schema if not exists raw_shop;
grant usage on schema raw_shop to ingest_writer, transformer;
-- Tables the function creates belong to the role that ran this migration: their privileges.
alter default privileges in schema raw_shop grant select, insert on tables to ingest_writer;
alter default privileges in schema raw_shop grant select on tables to transformer;

-- One order across every table: change_id of the typed tables comes from the same sequence as
-- raw.shop_changes' (its identity), so schema_change and truncate rows sort among the row changes,
-- and a warehouse that held jsonb history continues its numbering.
grant usage, select on sequence raw.shop_changes_change_id_seq to ingest_writer;

-- A block of p_count change ids, returned as its first id. A binlog batch writes one COPY per
-- table, so ids cannot come from a column default (that would number the rows grouped by
-- table): the ingestor reserves a block and assigns it in source order. Only moves forward;
-- safe because one ingestor per source holds its advisory lock (docs/cdc.md).
create or replace function ingest.cdc_reserve_change_ids(p_count integer)
returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    first_id bigint;
begin
    if p_count is null or p_count < 1 then
        raise exception 'reserve at least one change id, not %', p_count using errcode = '22023';
    end if;
    first_id := nextval('raw.shop_changes_change_id_seq');
    if p_count > 1 then
        perform setval('raw.shop_changes_change_id_seq', first_id + p_count - 1);
    end if;
    return first_id;
end
$$;
revoke all on function ingest.cdc_reserve_change_ids(integer) from public;
grant execute on function ingest.cdc_reserve_change_ids(integer) to ingest_writer;

-- Creates raw_shop.<p_table> if missing, adds the columns it lacks and changes a column's type to
-- the one asked for. The ingestor asks only for types that hold every value the old type held
-- (ingest/cdc/type-map.ts widenPgType), so the log loses nothing; the types are checked against
-- the type map's vocabulary here, since the names come from the source.
create or replace function ingest.cdc_ensure_typed_table(p_table text, p_columns text[], p_types text[])
returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    i integer;
    existing text;
    relation regclass;
begin
    if coalesce(array_length(p_columns, 1), 0) <> coalesce(array_length(p_types, 1), 0) then
        raise exception 'one type per column' using errcode = '22023';
    end if;
    if p_table is null or p_table = '' or length(p_table) > 63 then
        raise exception 'raw_shop table name % is empty or longer than 63 bytes', p_table using errcode = '22023';
    end if;
    execute format(
        'create table if not exists raw_shop.%I (
             change_id            bigint      primary key default nextval(''raw.shop_changes_change_id_seq''),
             operation            text        not null check (operation in (''snapshot'', ''insert'', ''update'', ''delete'')),
             binlog_file          text,
             binlog_position      bigint,
             row_index            integer,
             gtid                 text,
             snapshot_id          text,
             source_committed_at  timestamptz,
             _loaded_at           timestamptz not null default now(),
             _key                 text,
             _unmapped            jsonb
         )', p_table);
    relation := format('raw_shop.%I', p_table)::regclass;
    execute format('create index if not exists %I on raw_shop.%I using brin (_loaded_at)', left(p_table, 48) || '_loaded_at_brin', p_table);
    for i in 1 .. coalesce(array_length(p_columns, 1), 0) loop
        if p_types[i] !~ '^(bigint|smallint|real|double precision|date|interval|text|bytea|numeric|numeric\(\d{1,4},\d{1,4}\)|timestamp\(\d\) with(out)? time zone)$' then
            raise exception 'type % of %.% is not one the CDC type map gives', p_types[i], p_table, p_columns[i] using errcode = '22023';
        end if;
        if p_columns[i] in ('change_id', 'operation', 'binlog_file', 'binlog_position', 'row_index', 'gtid', 'snapshot_id',
                            'source_committed_at', '_loaded_at', '_key', '_unmapped') or length(p_columns[i]) > 63 then
            raise exception 'column % of % is a change-log column name or too long' , p_columns[i], p_table using errcode = '22023';
        end if;
        select format_type(atttypid, atttypmod) into existing
          from pg_attribute where attrelid = relation and attname = p_columns[i] and attnum > 0 and not attisdropped;
        if existing is null then
            execute format('alter table raw_shop.%I add column %I %s', p_table, p_columns[i], p_types[i]);
        elsif existing <> p_types[i] then
            execute format('alter table raw_shop.%I alter column %I type %s using %I::%s', p_table, p_columns[i], p_types[i], p_columns[i], p_types[i]);
        end if;
    end loop;
end
$$;
revoke all on function ingest.cdc_ensure_typed_table(text, text[], text[]) from public;
grant execute on function ingest.cdc_ensure_typed_table(text, text[], text[]) to ingest_writer;

-- An interrupted snapshot's rows may now be in raw_shop too: deleted there as well (the checks
-- are migration 0090's).
create or replace function ingest.discard_interrupted_snapshot(p_source_name text, p_snapshot_id text, p_change_id_floor bigint)
returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    deleted bigint;
    more bigint;
    typed record;
begin
    if exists (select 1 from ingest.cdc_snapshots_completed where snapshot_id = p_snapshot_id) then
        raise exception 'snapshot % completed; its rows are part of the change log and are never deleted', p_snapshot_id
            using errcode = '42501';
    end if;
    if not exists (
        select 1 from ingest.cdc_positions
        where source_name = p_source_name and snapshot_id = p_snapshot_id and snapshot_state = 'running'
    ) then
        raise exception 'snapshot % is not the running snapshot of source %', p_snapshot_id, p_source_name
            using errcode = '42501';
    end if;
    delete from raw.shop_changes
    where change_id > p_change_id_floor and snapshot_id = p_snapshot_id;
    get diagnostics deleted = row_count;
    for typed in select c.relname from pg_class c where c.relnamespace = 'raw_shop'::regnamespace and c.relkind = 'r' loop
        execute format('delete from raw_shop.%I where change_id > $1 and snapshot_id = $2', typed.relname)
            using p_change_id_floor, p_snapshot_id;
        get diagnostics more = row_count;
        deleted := deleted + more;
    end loop;
    return deleted;
end
$$;
revoke all on function ingest.discard_interrupted_snapshot(text, text, bigint) from public;
grant execute on function ingest.discard_interrupted_snapshot(text, text, bigint) to ingest_writer;
