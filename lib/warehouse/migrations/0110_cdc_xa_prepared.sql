-- CDC: changes of XA transactions that are prepared on the source but not yet committed or
-- rolled back (docs/cdc.md, "XA transactions"). A two-phase XA transaction is logged in two
-- event groups: its rows with XA PREPARE, then XA COMMIT or XA ROLLBACK, any time later and
-- after other transactions. The ingestor's position moves past the prepare, so the rows wait
-- here, written in the same Postgres transaction as that position, and move to
-- raw.shop_changes (commit) or are deleted (rollback) in the transaction that lands the outcome.
create table if not exists ingest.cdc_xa_prepared (
    source_name    text        not null,
    xid            text        not null,
    changes        jsonb       not null,
    dead_letters   jsonb       not null default '[]',
    prepared_at    text        not null,
    created_at     timestamptz not null default now(),
    primary key (source_name, xid)
);
comment on table ingest.cdc_xa_prepared is 'Changes of XA transactions prepared on the CDC source and not yet committed or rolled back.';
grant select, insert, update, delete on ingest.cdc_xa_prepared to ingest_writer;
grant select on ingest.cdc_xa_prepared to transformer;
