{#
    Every source row staging could not type or left out, from every source, with the reason,
    where it sits in its source, and whether it has been resolved since: a later change of the
    same shop row that staging could type (the source was corrected, or the row deleted), or a
    corrected copy of the event (same event_id) that staging kept. A history export's rejects
    (stg_history__rejects) are those of the current version of each file, so they are never
    resolved here: landing a corrected file makes them go away. The marts gate fails while any
    reject is unresolved, so the report is withheld instead of going out on marts that
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

{%- if target.type != 'spark' %}

history_rejects as (

    select * from {{ ref('stg_history__rejects') }}

),
{%- endif %}

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
        null::text as file_name,
        null::bigint as file_line,
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
        null::text as file_name,
        null::bigint as file_line,
        event_rejects.payload as rejected_record,
        exists(
            select 1 from events
            where events.event_id = event_rejects.event_id
        ) as is_resolved,
        event_rejects._loaded_at
    from event_rejects

),

{%- if target.type != 'spark' %}

-- A shop's history export (docs/history.md), landed by ingest/files; Postgres target only.
from_history as (

    select
        'history' as source_name,
        history_rejects.source_name as source_table,
        history_rejects.row_id::text as record_key,
        history_rejects.file_name || ' line ' || history_rejects.line_number
        || ', version ' || history_rejects.file_version as source_position,
        history_rejects.reason as reject_reason,
        null::bigint as change_id,
        null::text as binlog_file,
        null::bigint as binlog_position,
        null::integer as kafka_partition,
        null::bigint as kafka_offset,
        history_rejects.file_name,
        history_rejects.line_number as file_line,
        history_rejects.rejected_record,
        false as is_resolved,
        history_rejects._loaded_at
    from history_rejects

),
{%- endif %}

unioned as (

    select * from from_shop
    union all
    select * from from_clickstream
    {%- if target.type != 'spark' %}
    union all
    select * from from_history
    {%- endif %}

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
        file_name,

        ---------- numerics
        change_id,
        binlog_position,
        kafka_partition,
        kafka_offset,
        file_line,

        ---------- json
        rejected_record,

        ---------- booleans
        is_resolved,

        ---------- timestamps
        _loaded_at as loaded_at

    from unioned

)

select * from final
