{#
    Every source row staging could not type, from both sources, with the reason, where it
    sits in its source, and whether it has been resolved since: a later change of the same
    shop row that staging could type (the source was corrected, or the row deleted), or a
    corrected copy of the event (same event_id) that staging kept. The marts gate fails while
    any reject is unresolved, so the report is withheld instead of going out on marts that
    silently miss rows.
#}
with

change_rejects as (

    select * from {{ ref('stg_shop__change_rejects') }}

),

event_rejects as (

    select * from {{ ref('stg_clickstream__event_rejects') }}

),

events as (

    select * from {{ ref('stg_clickstream__events') }}

),

shop_changes as (

    select * from {{ source('shop', 'shop_changes') }}

),

from_shop as (

    select
        'shop' as source_name,
        change_rejects.table_name as source_table,
        change_rejects.primary_key::text as record_key,
        concat_ws(
            ', ',
            'change_id ' || change_rejects.change_id,
            'binlog ' || change_rejects.binlog_file || ':' || change_rejects.binlog_position,
            'snapshot ' || change_rejects.snapshot_id
        ) as source_position,
        change_rejects.reject_reason,
        change_rejects.change_id,
        change_rejects.binlog_file,
        change_rejects.binlog_position,
        null::integer as kafka_partition,
        null::bigint as kafka_offset,
        change_rejects.row_image as rejected_record,
        (
            exists (
                select 1
                from shop_changes as later
                where
                    later.table_name = change_rejects.table_name
                    and later.change_id > change_rejects.change_id
                    and later.operation = 'truncate'
            )
            {%- for table_name in cdc_existing_typed_tables() %}
            or (
                change_rejects.table_name = '{{ table_name }}'
                and exists(
                    select 1
                    from {{ source('raw_shop', table_name) }} as later
                    where
                        later.change_id > change_rejects.change_id
                        and later._key::jsonb = change_rejects.primary_key
                        and not exists (
                            select 1 from change_rejects as also_rejected
                            where also_rejected.change_id = later.change_id
                        )
                )
            )
            {%- endfor %}
        ) as is_resolved,
        change_rejects._loaded_at
    from change_rejects

),

from_clickstream as (

    select
        'clickstream' as source_name,
        event_rejects.kafka_topic as source_table,
        event_rejects.event_id as record_key,
        'partition ' || event_rejects.kafka_partition
        || ', offset ' || event_rejects.kafka_offset as source_position,
        event_rejects.reject_reason,
        null::bigint as change_id,
        null::text as binlog_file,
        null::bigint as binlog_position,
        event_rejects.kafka_partition,
        event_rejects.kafka_offset,
        event_rejects.payload as rejected_record,
        exists(
            select 1 from events
            where events.event_id = event_rejects.event_id
        ) as is_resolved,
        event_rejects._loaded_at
    from event_rejects

),

unioned as (

    select * from from_shop
    union all
    select * from from_clickstream

),

final as (

    select
        ---------- strings
        source_name,
        source_table,
        record_key,
        source_position,
        reject_reason,
        binlog_file,

        ---------- numerics
        change_id,
        binlog_position,
        kafka_partition,
        kafka_offset,

        ---------- json
        rejected_record,

        ---------- booleans
        is_resolved,

        ---------- timestamps
        _loaded_at as loaded_at

    from unioned

)

select * from final
