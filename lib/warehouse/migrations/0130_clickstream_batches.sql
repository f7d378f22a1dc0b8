-- Which Kafka offsets each clickstream-fed incremental dbt model has folded in (see
-- dbt/macros/clickstream_batches.sql). A model finds its next batch from its own high-water
-- mark per topic and partition (the largest up_to_offset here), so a cycle reads the offsets
-- landed since, whatever their load times: a backfill stamped in one minute is read once, not
-- again by every cycle of the next hour. One row per model, partition and build, written in the
-- same transaction as the model's rows; a full refresh replaces the model's rows with one range.
-- event_count is how many staged events the range held (null when not counted): the audit of
-- "each event processed once".
create table if not exists intermediate.clickstream_batches (
    model_name       text        not null,
    topic            text        not null,
    kafka_partition  integer     not null,
    after_offset     bigint      not null,
    up_to_offset     bigint      not null,
    event_count      bigint,
    built_at         timestamptz not null default now(),
    primary key (model_name, topic, kafka_partition, up_to_offset),
    check (up_to_offset > after_offset)
);
alter table intermediate.clickstream_batches owner to transformer;
