{#
    Clickstream messages staging cannot type: a payload that is not a JSON object, a field
    the casts of stg_clickstream__events cannot hold, an unknown event type, an event time
    outside the accepted window (rejects.sql). stg_clickstream__events leaves them out, so
    one bad message never stops the build; the ops_staging_rejects mart and the marts gate
    make them loud.

    Incremental: the messages loaded in the window stg_clickstream__events is about to read
    (its newest _loaded_at minus var events_lookback_minutes), checked before it runs; a
    message already listed (topic, partition, offset) is not listed again.
#}
{{
    config(
        materialized = 'incremental',
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        indexes = [
            {
                'columns': ['kafka_topic', 'kafka_partition', 'kafka_offset'],
                'unique': true,
            },
            {'columns': ['_loaded_at']},
        ],
    )
}}

{%- set since = none %}
{%- if is_incremental() %}
{%- set since = staged_watermark('stg_clickstream__events', 'loaded_at') %}
{%- endif %}

with

rejected as (

    select
        ---------- ids
        shop_events.event_id,
        shop_events.message_key,

        ---------- strings
        shop_events.event_type,
        {{ clickstream_untypeable_reason('shop_events') }} as reject_reason,
        shop_events.topic as kafka_topic,

        ---------- numerics
        shop_events.kafka_partition,
        shop_events.kafka_offset,

        ---------- json
        shop_events.payload,

        ---------- timestamps
        shop_events.event_time as event_at,
        shop_events._loaded_at

    from {{ source('clickstream', 'shop_events') }} as shop_events
    where
        -- Everything on a full build ('-infinity'), else the staging model's window.
        shop_events._loaded_at > '{{ since if since is not none else "-infinity" }}'::timestamptz
        and {{ clickstream_row_is_rejected('shop_events') }}

),

final as (

    select *
    from rejected
    {%- if is_incremental() %}
    where
        not exists (
            select 1
            from {{ this }} as kept
            where
                kept.kafka_topic = rejected.kafka_topic
                and kept.kafka_partition = rejected.kafka_partition
                and kept.kafka_offset = rejected.kafka_offset
        )
    {%- endif %}

)

select * from final
