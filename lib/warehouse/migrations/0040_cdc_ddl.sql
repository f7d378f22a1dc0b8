-- CDC addition to raw.shop_changes (see docs/cdc.md): the statement text of schema_change and
-- truncate rows (ALTER/CREATE/DROP/RENAME/TRUNCATE TABLE), so the log says exactly what changed
-- on the source. NULL for row changes.
alter table raw.shop_changes add column if not exists ddl text;
comment on column raw.shop_changes.ddl is 'DDL statement text for schema_change and truncate rows; NULL for row changes.';
