-- raw.shop_events is an append-only log that COPY writes at the Kafka ingestor's full rate, and
-- every index is paid on every row. Readers select it by load time only (dbt's incremental
-- staging and int_raw_loads_daily: `_loaded_at > watermark`); nothing reads it by event_time,
-- which staging carries into its own indexed tables. Rows arrive in load order, so a BRIN index
-- answers those load-time ranges from a few kilobytes. Measured with psql \copy of 300k events:
-- primary key and both btrees 38-40k rows/s; primary key and a BRIN on _loaded_at 45-47k.
-- autosummarize has autovacuum summarize each block range as it fills (until then a range is
-- read whole, which for the newest rows is what an incremental run reads anyway).
-- max(_loaded_at) (the raw gate's timeliness check) now scans the table, as its other checks do.
drop index if exists raw.shop_events_event_time_idx;
drop index if exists raw.shop_events_loaded_at_idx;
create index if not exists shop_events_loaded_at_brin on raw.shop_events using brin (_loaded_at)
    with (autosummarize = on);
