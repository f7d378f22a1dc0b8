{#
    The clickstream, one row per event_id. raw.shop_events is a log of Kafka messages and keeps
    producer re-sends; the first copy (load order, then partition and offset) wins.

    Incremental: rows loaded since the newest one already here, minus a lookback for ingest
    transactions that committed late, skipping event_ids already kept. A full refresh picks
    the same first copies, so both give the same table.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'event_id',
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['_loaded_at']},
            {'columns': ['session_id']},
        ],
    )
}}

with

source as (

    select * from {{ source('clickstream', 'shop_events') }}
    {%- if is_incremental() %}
    where
        _loaded_at > (
            select
                coalesce(max(kept._loaded_at), '-infinity'::timestamptz)
                - interval '{{ var("events_lookback_minutes") }} minutes'
            from {{ this }} as kept
        )
    {%- endif %}

),

first_copies as (

    select distinct on (event_id) *
    from source
    order by event_id asc, _loaded_at asc, topic asc, kafka_partition asc, kafka_offset asc

),

{%- if is_incremental() %}

not_yet_kept as (

    select first_copies.*
    from first_copies
    where not exists (
        select 1
        from {{ this }} as kept
        where kept.event_id = first_copies.event_id
    )

),
{%- endif %}

renamed as (

    select
        ---------- ids
        event_id,
        payload ->> 'session_id' as session_id,
        (payload ->> 'customer_id')::bigint as customer_id,
        payload ->> 'anonymous_id' as anonymous_id,
        (payload ->> 'product_id')::bigint as product_id,
        (payload ->> 'order_id')::bigint as order_id,

        ---------- strings
        event_type,
        payload ->> 'device' as device,
        payload ->> 'country_code' as country_code,
        payload ->> 'page_url' as page_url,
        payload ->> 'referrer' as referrer,

        ---------- numerics
        (payload ->> 'schema_version')::integer as schema_version,
        (payload ->> 'price')::numeric(12, 2) as price,
        (payload ->> 'quantity')::integer as quantity,
        (payload ->> 'cart_value')::numeric(12, 2) as cart_value,
        (payload ->> 'item_count')::integer as item_count,
        (payload ->> 'order_total')::numeric(12, 2) as order_total,

        ---------- timestamps
        event_time as event_at,

        ---------- source position
        topic as kafka_topic,
        kafka_partition,
        kafka_offset,
        _loaded_at

    {%- if is_incremental() %}
    from not_yet_kept
    {%- else %}
    from first_copies
    {%- endif %}

)

select * from renamed
