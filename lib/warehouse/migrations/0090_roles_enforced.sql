-- What docs/operations.md ("Roles") promises, enforced by privilege rather than by convention.
-- Database-level grants (CONNECT, TEMPORARY) and bi_reader's timeout and connection limit are
-- per database or per server, so the migration runner applies them (lib/warehouse/roles.ts).

-- bi_reader: no write privilege anywhere, so switching its session back to read-write
-- (SET default_transaction_read_only = off, BEGIN READ WRITE) gains it nothing.
-- Large objects are the one thing every role may create by default (lo_create and friends
-- are executable by PUBLIC, and creating one needs no other privilege). Nothing in ShopFlow
-- uses them, so creation is taken from PUBLIC; superusers keep it.
revoke execute on function pg_catalog.lo_creat(integer) from public;
revoke execute on function pg_catalog.lo_create(oid) from public;
revoke execute on function pg_catalog.lo_from_bytea(oid, bytea) from public;
revoke all on schema public from public;
revoke all on schema public from bi_reader;
revoke all on all tables in schema raw, ingest, ops, public from bi_reader;

-- raw is an append-only log: the ingestors may add rows and read them, never change or remove
-- them. The one removal the CDC ingestor needs (the rows of a snapshot that was interrupted
-- before it completed, which no reader may rely on) goes through
-- ingest.discard_interrupted_snapshot below, which refuses any snapshot that completed.
revoke update, delete, truncate, references, trigger on all tables in schema raw from ingest_writer;
grant select, insert on all tables in schema raw to ingest_writer;
-- ingest.* holds positions (upserted with their rows) and metrics (appended). No deletes.
revoke delete, truncate, references, trigger on all tables in schema ingest from ingest_writer;
grant select, insert, update on all tables in schema ingest to ingest_writer;
-- Tables a later migration creates start with the same shape; a test checks every raw table.
alter default privileges in schema raw grant select, insert on tables to ingest_writer;
alter default privileges in schema raw grant select on tables to transformer;

-- Every snapshot that completed, recorded by the warehouse itself when the CDC position says
-- so. ingest_writer may read it but not write it, so a completed snapshot can never be named
-- "interrupted" to have its rows deleted.
create table if not exists ingest.cdc_snapshots_completed (
    snapshot_id   text        primary key,
    source_name   text        not null,
    completed_at  timestamptz not null default now()
);
revoke all on ingest.cdc_snapshots_completed from ingest_writer;
grant select on ingest.cdc_snapshots_completed to ingest_writer, transformer;

create or replace function ingest.record_completed_snapshot() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    insert into ingest.cdc_snapshots_completed (snapshot_id, source_name)
    values (new.snapshot_id, new.source_name)
    on conflict (snapshot_id) do nothing;
    return new;
end
$$;
revoke all on function ingest.record_completed_snapshot() from public;

drop trigger if exists cdc_positions_snapshot_completed on ingest.cdc_positions;
create trigger cdc_positions_snapshot_completed
    after insert or update of snapshot_state, snapshot_id on ingest.cdc_positions
    for each row when (new.snapshot_state = 'done' and new.snapshot_id is not null)
    execute function ingest.record_completed_snapshot();

-- Snapshots already in the log: the current one if done, and every older one (a snapshot id
-- that is not the one running now belongs to a snapshot that completed or was discarded).
insert into ingest.cdc_snapshots_completed (snapshot_id, source_name)
select snapshot_id, source_name from ingest.cdc_positions
where snapshot_state = 'done' and snapshot_id is not null
on conflict (snapshot_id) do nothing;
insert into ingest.cdc_snapshots_completed (snapshot_id, source_name)
select distinct changes.snapshot_id, changes.source_database
from raw.shop_changes as changes
where changes.snapshot_id is not null
  and not exists (
      select 1 from ingest.cdc_positions as p
      where p.snapshot_id = changes.snapshot_id and p.snapshot_state = 'running'
  )
on conflict (snapshot_id) do nothing;

-- Deletes the rows of the snapshot the position row says is running (and only if it never
-- completed), above the change_id floor recorded when it began. Returns the rows deleted.
create or replace function ingest.discard_interrupted_snapshot(p_source_name text, p_snapshot_id text, p_change_id_floor bigint)
returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    deleted bigint;
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
    return deleted;
end
$$;
revoke all on function ingest.discard_interrupted_snapshot(text, text, bigint) from public;
grant execute on function ingest.discard_interrupted_snapshot(text, text, bigint) to ingest_writer;
