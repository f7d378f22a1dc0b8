{#
    Clickstream messages staging cannot type: a payload that is not a JSON object, a field
    the casts of stg_clickstream__events cannot hold, an unknown event type, an event time
    outside the accepted window (rejects.sql). stg_clickstream__events leaves them out, so
    one bad message never stops the build; the ops_staging_rejects mart and the marts gate
    make them loud.

    Incremental: the messages stg_clickstream__events is about to read (past the largest
    offset it holds per topic and partition, macros/clickstream_unstaged.sql), checked before
    it runs; a message already listed (topic, partition, offset) is not listed again.
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
        -- Everything on a full build, else the staging model's window.
        {{ clickstream_unstaged_rows('shop_events') }}
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
