-- The raw gate's volume check (events per day of event_time) reads this summary instead of
-- grouping every row of raw.shop_events on every run: at 10x that grouping alone was a full
-- scan of 24M rows. One row per (load day, event day): raw is append-only and partitioned by
-- load day, so a load day's counts only grow while its partition is written and never change
-- after. The gate refreshes the days its window reaches (great_expectations/gate/run_gate.py)
-- through ops.refresh_shop_events_volume below; an archived (dropped) partition's counts stay,
-- so the volume baseline keeps the history that left the warehouse (see docs/quality-gate.md).
create table if not exists ops.shop_events_daily_volume (
    load_day      date        not null,
    event_day     date        not null,
    events        bigint      not null check (events >= 0),
    refreshed_at  timestamptz not null default now(),
    primary key (load_day, event_day)
);
grant select on ops.shop_events_daily_volume to transformer, ops_writer;

-- Recounts every load day from the UTC day of p_from on (null: every day) and returns how many
-- (load day, event day) rows it wrote. Upsert, never delete: counts of an append-only log only
-- grow, and the days of archived partitions must keep theirs. Security definer so the gate's
-- role (transformer, read-only on ops) can refresh the summary without being able to write
-- arbitrary numbers into it.
create or replace function ops.refresh_shop_events_volume(p_from timestamptz) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    from_day timestamptz := case when p_from is null then '-infinity'::timestamptz
                                 else date_trunc('day', p_from at time zone 'UTC') at time zone 'UTC' end;
    written bigint;
begin
    -- One refresher at a time: two gates recounting the same day would race on the upsert.
    perform pg_advisory_xact_lock(727100131);
    insert into ops.shop_events_daily_volume as volume (load_day, event_day, events, refreshed_at)
    select (_loaded_at at time zone 'UTC')::date, (event_time at time zone 'UTC')::date, count(*), now()
    from raw.shop_events
    where _loaded_at >= from_day
    group by 1, 2
    on conflict (load_day, event_day) do update
        set events = excluded.events, refreshed_at = excluded.refreshed_at
        where volume.events is distinct from excluded.events;
    get diagnostics written = row_count;
    return written;
end
$$;
revoke all on function ops.refresh_shop_events_volume(timestamptz) from public;
grant execute on function ops.refresh_shop_events_volume(timestamptz) to transformer;
