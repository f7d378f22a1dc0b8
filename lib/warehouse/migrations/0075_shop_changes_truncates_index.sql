-- Current-state models skip everything logged before a source table's latest truncate, and
-- look that truncate up on every run. Truncates are rare, so without their own index the
-- lookup walked every change of the table (millions of rows over years of history). A partial
-- index holds only the truncate rows.
create index if not exists shop_changes_truncates_idx
    on raw.shop_changes (table_name, change_id)
    where operation = 'truncate';
