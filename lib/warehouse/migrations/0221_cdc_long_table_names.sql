-- Source table names Postgres cannot hold as they are (MariaDB allows 64 characters, up to 256
-- bytes; a Postgres identifier is at most 63 bytes). Before this, a DBA's CREATE TABLE with a
-- 64-character name stopped the CDC ingestor for every table. Now such a table's change log is
-- raw_shop.<a prefix of the name>_<8 hex of its hash> (ingest/cdc/typed-tables.ts
-- typedRelationName, the one home of that rule), and this table says which source table each
-- such relation logs, so a re-snapshot or a replaced source finds the name its truncates carry.
create table if not exists ingest.cdc_typed_table_sources (
    relation_name  text primary key,
    source_table   text not null unique
);
grant select on ingest.cdc_typed_table_sources to ingest_writer, transformer;

-- Records that raw_shop.<p_relation> logs source table p_source_table (called in the transaction
-- that creates the relation). Security definer: ingest_writer cannot write the mapping directly.
create or replace function ingest.cdc_name_typed_table(p_relation text, p_source_table text)
returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if p_relation is null or octet_length(p_relation) > 63 or p_source_table is null then
        raise exception 'relation name % is empty or longer than 63 bytes', p_relation using errcode = '22023';
    end if;
    insert into ingest.cdc_typed_table_sources (relation_name, source_table)
    values (p_relation, p_source_table)
    on conflict (relation_name) do nothing;
    if not exists (select 1 from ingest.cdc_typed_table_sources
                   where relation_name = p_relation and source_table = p_source_table) then
        raise exception 'raw_shop.% already logs another source table', p_relation using errcode = '23505';
    end if;
end
$$;
revoke all on function ingest.cdc_name_typed_table(text, text) from public;
grant execute on function ingest.cdc_name_typed_table(text, text) to ingest_writer;

-- As in migration 0140, with names measured in bytes and index names that cannot collide.
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
    -- Bytes, not characters: Postgres cuts a longer identifier silently, and two source tables
    -- would then share one log. The ingestor never asks for one (typedRelationName).
    if p_table is null or p_table = '' or octet_length(p_table) > 63 then
        raise exception 'raw_shop table name % is empty or longer than 63 bytes', p_table using errcode = '22023';
    end if;
    if to_regclass(format('raw_shop.%I', p_table)) is null then
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
        -- Index named after the table when that fits (as 0140 did), else a prefix of at most 32
        -- bytes and a hash of the whole name: two tables sharing their first bytes must not share
        -- one index name, and Postgres must not cut the hash off. Made with the table only: a
        -- later call for new columns must not add a second index under the new naming.
        execute format('create index if not exists %I on raw_shop.%I using brin (_loaded_at)',
            case when octet_length(p_table) <= 48 then p_table || '_loaded_at_brin'
                 else left(p_table, 8) || '_' || left(md5(p_table), 8) || '_loaded_at_brin' end,
            p_table);
    end if;
    relation := format('raw_shop.%I', p_table)::regclass;
    for i in 1 .. coalesce(array_length(p_columns, 1), 0) loop
        if p_types[i] !~ '^(bigint|smallint|real|double precision|date|interval|text|bytea|numeric|numeric\(\d{1,4},\d{1,4}\)|timestamp\(\d\) with(out)? time zone)$' then
            raise exception 'type % of %.% is not one the CDC type map gives', p_types[i], p_table, p_columns[i] using errcode = '22023';
        end if;
        if p_columns[i] in ('change_id', 'operation', 'binlog_file', 'binlog_position', 'row_index', 'gtid', 'snapshot_id',
                            'source_committed_at', '_loaded_at', '_key', '_unmapped') or octet_length(p_columns[i]) > 63 then
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
