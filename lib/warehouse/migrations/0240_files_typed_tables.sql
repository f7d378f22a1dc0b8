-- The typed file layout (docs/files.md, "What lands where"): one table per declared file source,
-- raw_files.<source>, holding file_id, line_number, the source's declared columns with their
-- Postgres types (ingest/files/pg-types.ts, the one home of that map) and _loaded_at. The jsonb
-- layout (raw.file_rows, migration 0180) ran at a quarter of COPY into a typed table on the same
-- rows, however little the lander itself spent; typed columns are also what dbt wants.
--
-- The tables are created and widened by the lander from the source's config, in the same
-- transaction as the rows that need them. ingest_writer may not own them (an owner may update,
-- delete and truncate; raw is append-only by privilege, migration 0090), so the DDL goes through
-- ingest.files_ensure_typed_table below, owned by the role running this migration, which only
-- ever creates, adds columns, or widens a column to a type that holds every value it held.

create schema if not exists raw_files;
grant usage on schema raw_files to ingest_writer, transformer;
-- Tables the function creates belong to the role that ran this migration: their privileges.
alter default privileges in schema raw_files grant select, insert on tables to ingest_writer;
alter default privileges in schema raw_files grant select on tables to transformer;

-- Which layout a manifest row's rows are in. Rows landed before this migration are in
-- raw.file_rows ('jsonb'); the lander writes only 'typed' from now on, and counts a file as
-- landed only when its bytes landed in the typed layout, so the first run after the upgrade
-- lands every file still in its folder again, as its next version, into raw_files (the
-- documented re-land). No default: a lander from before this migration fails loudly rather
-- than writing jsonb rows under a typed manifest row.
alter table raw.file_manifest add column if not exists layout text not null default 'jsonb'
    check (layout in ('jsonb', 'typed'));
alter table raw.file_manifest alter column layout drop default;
-- The same bytes under the same name land once per layout (was: once).
alter table raw.file_manifest drop constraint if exists file_manifest_source_name_file_name_content_sha256_key;
create unique index if not exists file_manifest_once_per_layout
    on raw.file_manifest (source_name, file_name, content_sha256, layout);

-- Creates raw_files.<p_table> if missing, adds the columns it lacks, and widens a column to the
-- type asked for. Allowed types are the file type map's (ingest/files/pg-types.ts; a test holds
-- the two together); a type change is allowed only when the new type holds every value of the
-- old one (bigint -> numeric, date -> timestamp, anything -> text), so raw loses nothing. The
-- names come from a config file: checked here too, and quoted.
create or replace function ingest.files_ensure_typed_table(p_table text, p_columns text[], p_types text[])
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
    -- Bytes, not characters: Postgres cuts a longer identifier silently.
    if p_table is null or p_table !~ '^[a-z_][a-z0-9_]*$' or octet_length(p_table) > 63 then
        raise exception 'raw_files table name % is not a source name (lower case, digits, _, at most 63 bytes)', p_table
            using errcode = '22023';
    end if;
    -- Two landers of one source creating or widening its table at once: the second waits here
    -- until the first commits, then finds the table as it left it.
    perform pg_advisory_xact_lock(hashtextextended('raw_files.' || p_table, 727100271));
    if to_regclass(format('raw_files.%I', p_table)) is null then
        execute format(
            'create table raw_files.%I (
                 file_id      bigint      not null,
                 line_number  bigint      not null,
                 _loaded_at   timestamptz not null default now(),
                 primary key (file_id, line_number)
             )', p_table);
        -- One _loaded_at per file (the transaction's time), growing with the table: BRIN, as
        -- raw.file_rows (migration 0195). The name fits in 63 bytes and cannot collide.
        execute format('create index %I on raw_files.%I using brin (_loaded_at)',
            case when octet_length(p_table) <= 48 then p_table || '_loaded_at_brin'
                 else left(p_table, 8) || '_' || left(md5(p_table), 8) || '_loaded_at_brin' end,
            p_table);
    end if;
    relation := format('raw_files.%I', p_table)::regclass;
    for i in 1 .. coalesce(array_length(p_columns, 1), 0) loop
        if p_types[i] is null or p_types[i] not in ('text', 'bigint', 'numeric', 'boolean', 'date', 'timestamp without time zone') then
            raise exception 'type % of %.% is not one the file type map gives', p_types[i], p_table, p_columns[i]
                using errcode = '22023';
        end if;
        if p_columns[i] is null or p_columns[i] !~ '^[a-z_][a-z0-9_]*$' or octet_length(p_columns[i]) > 63
           or p_columns[i] in ('file_id', 'line_number', '_loaded_at') then
            raise exception 'column % of raw_files.% is not a declared column name (or is one the layout reserves)', p_columns[i], p_table
                using errcode = '22023';
        end if;
        select format_type(atttypid, atttypmod) into existing
          from pg_attribute where attrelid = relation and attname = p_columns[i] and attnum > 0 and not attisdropped;
        if existing is null then
            execute format('alter table raw_files.%I add column %I %s', p_table, p_columns[i], p_types[i]);
        elsif existing <> p_types[i]
              -- Already wider (a concurrent lander widened it first): nothing to do.
              and not (existing = 'text'
                       or (existing = 'numeric' and p_types[i] = 'bigint')
                       or (existing = 'timestamp without time zone' and p_types[i] = 'date')) then
            if not (p_types[i] = 'text'
                    or (existing = 'bigint' and p_types[i] = 'numeric')
                    or (existing = 'date' and p_types[i] = 'timestamp without time zone')) then
                raise exception 'raw_files.%.% is %; % would not hold every value it holds', p_table, p_columns[i], existing, p_types[i]
                    using errcode = '22023';
            end if;
            execute format('alter table raw_files.%I alter column %I type %s using %I::%s',
                p_table, p_columns[i], p_types[i], p_columns[i], p_types[i]);
        end if;
    end loop;
end
$$;
revoke all on function ingest.files_ensure_typed_table(text, text[], text[]) from public;
grant execute on function ingest.files_ensure_typed_table(text, text[], text[]) to ingest_writer;
