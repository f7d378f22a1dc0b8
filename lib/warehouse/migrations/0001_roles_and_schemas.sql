-- Schemas and least-privilege roles. Passwords are set by the migration runner from the
-- environment (WAREHOUSE_*_PASSWORD), never stored here.
--   ingest_writer  writes raw.* and ingest.* (the ingestors)
--   transformer    reads raw/ingest/ops, owns the dbt schemas (dbt)
--   bi_reader      reads marts.* only (Superset, the report)
--   ops_writer     writes ops.* (the scheduler's run ledger, alerts, reports sent)

do $$
declare r text;
begin
  foreach r in array array['ingest_writer', 'transformer', 'bi_reader', 'ops_writer'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I login nosuperuser nocreatedb nocreaterole', r);
    end if;
  end loop;
end $$;

create schema if not exists raw;
create schema if not exists ingest;
create schema if not exists ops;
create schema if not exists staging authorization transformer;
create schema if not exists snapshots authorization transformer;
create schema if not exists intermediate authorization transformer;
create schema if not exists marts authorization transformer;

revoke all on schema public from public;
grant usage on schema raw, ingest to ingest_writer;
grant usage on schema raw, ingest, ops to transformer;
grant usage on schema ops to ops_writer;
grant usage on schema marts to bi_reader, ops_writer;

-- Tables dbt creates in marts are readable by bi_reader (and the ledger writer, for the report).
alter default privileges for role transformer in schema marts grant select on tables to bi_reader, ops_writer;
