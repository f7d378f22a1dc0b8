-- The raw gate's volume summary (0131) counts each event once, by Kafka position, instead of
-- recounting whole load days.
--
-- Why: an incremental gate recounted every load day from the UTC day of its window's start. In
-- steady operation that is today's events; on the day of a backfill, a re-ingest or a first
-- deployment it is the whole history (the 3x history bench: 1.8 s to 8.2 s at 1x to 3x; the
-- 10x world holds 25M events loaded the same day).
--
-- How: ops.shop_events_volume_positions holds, per topic and partition, the next Kafka offset
-- not yet counted. An incremental refresh counts only the rows past those positions and adds
-- them to their (load day, event day) counts, in one statement (one snapshot) that also moves
-- the positions. Exact for the same reason incremental staging is (dbt macro
-- clickstream_unstaged_rows): the Kafka ingestor commits a partition's messages in offset
-- order, each batch with its stored position, so a transaction that commits after a refresh
-- read its partition holds only offsets past everything that refresh counted, whatever its
-- _loaded_at. A row written into raw by hand must take an offset past its partition's last one
-- to be counted, as a Kafka message would.
--
-- A full refresh (p_from null: the nightly raw gate's full pass) still recounts every load day
-- raw holds, exactly, and sets the positions from the same snapshot: it repairs the summary if
-- raw was changed by hand. Counts of archived load days stay, as before.
create table if not exists ops.shop_events_volume_positions (
    topic            text        not null,
    kafka_partition  integer     not null,
    next_offset      bigint      not null,
    counted_at       timestamptz not null default now(),
    primary key (topic, kafka_partition)
);
comment on table ops.shop_events_volume_positions is
    'Per Kafka topic and partition, the next offset ops.shop_events_daily_volume has not counted yet.';
grant select on ops.shop_events_volume_positions to transformer, ops_writer;

-- The rows of raw.shop_events past the counted positions, as a boolean SQL expression over
-- alias `e`: one index range (migration 0255) past each position, and one for each gap between
-- the topics and partitions counted so far (where a new one would appear). Scalar bounds only,
-- so each day partition's btree stops at the end of a range.
create or replace function ops.shop_events_uncounted_filter() returns text
language plpgsql stable set search_path = pg_catalog, pg_temp as $$
declare
    arms text[] := '{}';
    mark record;
    last_topic text;
    last_partition integer;
begin
    for mark in
        select topic, kafka_partition, next_offset
        from ops.shop_events_volume_positions
        order by topic, kafka_partition
    loop
        if last_topic is null then
            arms := arms || format('e.topic < %L', mark.topic);
        elsif last_topic <> mark.topic then
            arms := arms || format('e.topic = %L and e.kafka_partition > %s', last_topic, last_partition);
            arms := arms || format('e.topic > %L and e.topic < %L', last_topic, mark.topic);
        end if;
        if last_topic is distinct from mark.topic then
            arms := arms || format('e.topic = %L and e.kafka_partition < %s', mark.topic, mark.kafka_partition);
        elsif mark.kafka_partition > last_partition + 1 then
            arms := arms || format('e.topic = %L and e.kafka_partition > %s and e.kafka_partition < %s',
                                   mark.topic, last_partition, mark.kafka_partition);
        end if;
        arms := arms || format('e.topic = %L and e.kafka_partition = %s and e.kafka_offset >= %s',
                               mark.topic, mark.kafka_partition, mark.next_offset);
        last_topic := mark.topic;
        last_partition := mark.kafka_partition;
    end loop;
    if last_topic is null then
        return 'true';
    end if;
    arms := arms || format('e.topic = %L and e.kafka_partition > %s', last_topic, last_partition);
    arms := arms || format('e.topic > %L', last_topic);
    return '((' || array_to_string(arms, ') or (') || '))';
end
$$;
revoke all on function ops.shop_events_uncounted_filter() from public;

-- p_from null: recount every load day raw holds (the full pass). Otherwise (any time: only
-- whether it is null matters now) count the rows past the counted positions and add them.
-- Returns how many (load day, event day) rows it wrote.
create or replace function ops.refresh_shop_events_volume(p_from timestamptz) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    rows_filter text := case when p_from is null then 'true' else ops.shop_events_uncounted_filter() end;
    new_count text := case when p_from is null then 'excluded.events' else 'volume.events + excluded.events' end;
    written bigint;
begin
    -- One refresher at a time: two refreshes counting the same rows would count them twice.
    perform pg_advisory_xact_lock(727100131);
    if p_from is not null then
        -- Past the counted positions, an old day partition holds nothing: one descent of its
        -- index says so, where a small partition's sequential scan (the planner's choice by
        -- size) would read it all. For this transaction only.
        perform set_config('enable_seqscan', 'off', true);
    end if;
    execute format($sql$
        with counted as (
            select e.topic, e.kafka_partition,
                   (e._loaded_at at time zone 'UTC')::date as load_day,
                   (e.event_time at time zone 'UTC')::date as event_day,
                   count(*) as events, max(e.kafka_offset) as last_offset
            from raw.shop_events as e
            where %s
            group by 1, 2, 3, 4
        ),
        volume_written as (
            insert into ops.shop_events_daily_volume as volume (load_day, event_day, events, refreshed_at)
            select load_day, event_day, sum(events), now() from counted group by 1, 2
            on conflict (load_day, event_day) do update
                set events = %s, refreshed_at = excluded.refreshed_at
                where volume.events is distinct from %s
            returning 1
        ),
        positions_moved as (
            insert into ops.shop_events_volume_positions as counted_to (topic, kafka_partition, next_offset, counted_at)
            select topic, kafka_partition, max(last_offset) + 1, now() from counted group by 1, 2
            on conflict (topic, kafka_partition) do update
                set next_offset = greatest(counted_to.next_offset, excluded.next_offset), counted_at = excluded.counted_at
            returning 1
        )
        select count(*) from volume_written
    $sql$, rows_filter, new_count, new_count) into written;
    return written;
end
$$;
revoke all on function ops.refresh_shop_events_volume(timestamptz) from public;
grant execute on function ops.refresh_shop_events_volume(timestamptz) to transformer;

-- Counted positions start from a full recount of what raw holds now (nothing on a new warehouse).
select ops.refresh_shop_events_volume(null);
