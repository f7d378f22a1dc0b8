-- raw.file_rows lands at COPY speed (issue #27, docs/files.md "Speed and memory"). Profiling a
-- 1,000,000-row landing showed two per-row costs the table did not need:
--
-- * The deferred foreign key to raw.file_manifest queued one trigger event per row and checked
--   each at commit with its own lookup: about as long as the COPY itself. The lander writes a
--   file's rows and its manifest row in one transaction (ingest/files/lander.ts), so a row
--   without its manifest row cannot commit anyway; ingest_writer can only insert, never delete.
-- * A btree on _loaded_at, one entry per row, for a column whose value is the same for every row
--   of a file (the transaction's time) and grows with the table: a BRIN index answers the same
--   range filters (incremental dbt windows, the gate's staleness checks) at almost no cost per row.
alter table raw.file_rows drop constraint if exists file_rows_file_id_fkey;
drop index if exists raw.file_rows_loaded_at_idx;
create index if not exists file_rows_loaded_at_brin on raw.file_rows using brin (_loaded_at);
