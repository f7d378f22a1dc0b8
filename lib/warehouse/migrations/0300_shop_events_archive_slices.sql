-- Raw retention by event time within a load day: a slice of a load day (its rows whose event
-- time lies in [from, before)) can be archived on its own while the rest of the day stays.
--
-- Why: retention archives whole load days older than RAW_RETENTION_DAYS (0132). A backfill, a
-- re-ingest or a first deployment lands a whole history in one load day, so none of it could
-- leave for that many days, and the 10x world (24M events, one load day) kept raw and staging
-- at 16 GB against a 12 GB budget. A slice lets the old events of a recent load day go to
-- Parquet like a due day does (lib/warehouse/archive/, docs/operations.md "Raw retention").
--
-- A slice leaves by rewriting its day's partition without it: the rows kept are copied into a
-- new table that takes the partition's place, under the same lock and checks as a dropped day.
-- A DELETE would leave the table its size on disk (the space is only reused by later inserts,
-- and no later insert goes to a past load day).

-- The rows and key hash of one load day narrowed to event times in [p_from, p_before) (a null
-- bound: unbounded), the same numbers as raw.shop_events_day_fingerprint and partition_parquet.py.
create or replace function raw.shop_events_slice_fingerprint(
    p_day date, p_from timestamptz, p_before timestamptz, out row_count bigint, out key_hash numeric)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select
        count(*),
        coalesce(sum(('x' || left(md5(
            topic || '/' || kafka_partition || '/' || kafka_offset || '/' || event_id || '/'
            || (extract(epoch from event_time) * 1000000)::bigint || '/'
            || (extract(epoch from _loaded_at) * 1000000)::bigint), 15))::bit(60)::bigint), 0)
    from raw.shop_events
    where _loaded_at >= p_day::timestamp at time zone 'UTC'
      and _loaded_at < (p_day + 1)::timestamp at time zone 'UTC'
      and event_time >= coalesce(p_from, '-infinity')
      and event_time < coalesce(p_before, 'infinity')
$$;

-- A whole day is the slice without bounds: the key hash has one definition (the one above).
create or replace function raw.shop_events_day_fingerprint(p_day date, out row_count bigint, out key_hash numeric)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select fingerprint.row_count, fingerprint.key_hash
    from raw.shop_events_slice_fingerprint(p_day, null, null) as fingerprint
$$;

-- Rewrites the partition of one load day without its rows in [p_from, p_before), if and only if
-- those rows are still exactly the ones the archive read back from its file (count and key
-- hash). Returns false, changing nothing, when they differ or the day has no partition of its
-- own. The rows kept are copied to a new table under an exclusive lock on the old one; the new
-- table is attached in its place (the parent's indexes are built on it as it is attached).
create or replace function raw.drop_archived_shop_events_slice(
    p_day date, p_from timestamptz, p_before timestamptz, p_rows bigint, p_key_hash numeric)
returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    partition_name text := 'shop_events_' || to_char(p_day, 'YYYYMMDD');
    rest_name text := 'shop_events_' || to_char(p_day, 'YYYYMMDD') || '_rest';
    day_start timestamptz := p_day::timestamp at time zone 'UTC';
    day_end timestamptz := (p_day + 1)::timestamp at time zone 'UTC';
    found_rows bigint;
    found_hash numeric;
begin
    if p_before is null then
        raise exception 'a slice needs an upper event-time bound' using errcode = '22023';
    end if;
    if to_regclass(format('raw.%I', partition_name)) is null then
        return false;
    end if;
    -- No ingest into the day, and no reader, while it is compared and rewritten.
    execute format('lock table raw.%I in access exclusive mode', partition_name);
    select row_count, key_hash into found_rows, found_hash
    from raw.shop_events_slice_fingerprint(p_day, p_from, p_before);
    if found_rows is distinct from p_rows or found_hash is distinct from p_key_hash then
        return false;
    end if;
    execute format('drop table if exists raw.%I', rest_name);
    execute format('create table raw.%I (like raw.shop_events including defaults including constraints)', rest_name);
    execute format(
        'insert into raw.%I select * from raw.%I '
        'where not (event_time >= coalesce(%L::timestamptz, ''-infinity'') and event_time < %L::timestamptz)',
        rest_name, partition_name, p_from, p_before);
    execute format('alter table raw.shop_events detach partition raw.%I', partition_name);
    execute format('drop table raw.%I', partition_name);
    execute format('alter table raw.%I rename to %I', rest_name, partition_name);
    execute format('alter table raw.shop_events attach partition raw.%I for values from (%L) to (%L)',
        partition_name, day_start, day_end);
    execute format('analyze raw.%I', partition_name);
    return true;
end
$$;

revoke all on function raw.shop_events_slice_fingerprint(date, timestamptz, timestamptz) from public;
revoke all on function raw.drop_archived_shop_events_slice(date, timestamptz, timestamptz, bigint, numeric) from public;

-- One row per archived slice: its load day and event-time bounds, and what its staged rows
-- did (as raw.shop_events_archived_days does for whole days). The newest events_before is the
-- event-time horizon the staging warning test compares late events with.
create table if not exists raw.shop_events_archived_slices (
    load_day        date not null,
    events_from     timestamptz,
    events_before   timestamptz not null,
    staged_events   bigint not null,
    removed_events  bigint not null,
    archived_at     timestamptz not null default now(),
    primary key (load_day, events_before)
);

comment on table raw.shop_events_archived_slices is
    'Slices of raw.shop_events load days archived by raw retention (their events before events_before, from events_from), with the staged events whose keys went to shop_events_archived_keys and how many staged rows were removed.';

grant select on raw.shop_events_archived_slices to transformer;
