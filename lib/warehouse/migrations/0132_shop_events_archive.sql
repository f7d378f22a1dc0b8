-- Raw retention (lib/warehouse/archive/, docs/operations.md "Raw retention"): a load day of
-- raw.shop_events older than RAW_RETENTION_DAYS is written to a Parquet file, read back, and
-- only then detached and dropped; `npm run raw:rehydrate` brings it back.

-- The rows and key hash of one load day: the same numbers partition_parquet.py computes from
-- a Parquet file (first 60 bits of md5 of topic/partition/offset/event_id/event_time/_loaded_at,
-- times in epoch microseconds, summed), so the file and the rows can be compared.
create or replace function raw.shop_events_day_fingerprint(p_day date, out row_count bigint, out key_hash numeric)
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
$$;

-- Detaches and drops the partition of one load day, if and only if it still holds exactly the
-- rows the archive read back from its file (count and key hash). Returns false, dropping
-- nothing, when they differ (a row landed after the export) or the day has no partition of its
-- own. Security definer, owned by the migrating role: dropping needs ownership, which no
-- component role has, and this is the one way it happens.
create or replace function raw.drop_archived_shop_events_partition(p_day date, p_rows bigint, p_key_hash numeric)
returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    partition_name text := 'shop_events_' || to_char(p_day, 'YYYYMMDD');
    found_rows bigint;
    found_hash numeric;
begin
    if to_regclass(format('raw.%I', partition_name)) is null then
        return false;
    end if;
    -- No ingest into the day while it is compared and dropped.
    execute format('lock table raw.%I in access exclusive mode', partition_name);
    select row_count, key_hash into found_rows, found_hash from raw.shop_events_day_fingerprint(p_day);
    if found_rows is distinct from p_rows or found_hash is distinct from p_key_hash then
        return false;
    end if;
    execute format('alter table raw.shop_events detach partition raw.%I', partition_name);
    execute format('drop table raw.%I', partition_name);
    return true;
end
$$;

revoke all on function raw.shop_events_day_fingerprint(date) from public;
revoke all on function raw.drop_archived_shop_events_partition(date, bigint, numeric) from public;
