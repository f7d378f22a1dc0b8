{#
    One row per raw landing table: rows landed and when the newest arrived. Age is left to
    the reader (dashboards compare last_loaded_at with their own clock); nothing here reads
    the wall clock. Sums the per-day ledger int_raw_loads_daily, so it costs the same whatever
    the size of the raw tables; a table with nothing landed yet still has its row.
#}
with

loads as (

    select * from {{ ref('int_raw_loads_daily') }}

),

raw_tables (source_table, loader) as (

    values
    ('raw.shop_changes', 'ingest/cdc'),
    ('raw.shop_events', 'ingest/kafka'),
    ('raw.dead_letters', 'ingest/kafka, ingest/cdc')
    {%- for table_name in shop_source_tables() %},
    ('raw_shop.{{ table_name }}', 'ingest/cdc')
    {%- endfor %}

),

per_table as (

    select
        source_table,
        sum(row_count) as row_count,
        min(first_loaded_at) as first_loaded_at,
        max(last_loaded_at) as last_loaded_at,
        max(last_source_event_at) as last_source_event_at
    from loads
    group by 1

),

final as (

    select
        ---------- strings
        raw_tables.source_table,
        raw_tables.loader,

        ---------- numerics
        coalesce(per_table.row_count, 0)::bigint as row_count,

        ---------- timestamps
        per_table.first_loaded_at,
        per_table.last_loaded_at,
        per_table.last_source_event_at

    from raw_tables
    left join per_table
        on raw_tables.source_table = per_table.source_table

)

select * from final
