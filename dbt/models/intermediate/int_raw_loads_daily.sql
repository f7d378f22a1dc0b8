{#
    Rows landed per raw table and UTC load day: the ledger ops_source_freshness sums, so the
    freshness mart never counts the raw tables themselves (tens of millions of rows).

    Incremental: for each raw table, the whole UTC day of its newest kept load (less var
    events_lookback_minutes, for transactions that commit after they stamp their rows) and
    every later day are counted again and replace what was kept for those days; older days
    are not read. A discarded interrupted CDC snapshot deletes raw rows of the current day or
    a recent one, which a later run recounts; a full refresh recounts everything.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = ['source_table', 'load_date'],
        incremental_strategy = 'delete+insert',
        on_schema_change = 'fail',
    )
}}

{%- set raw_tables = [
    {
        'name': 'raw.shop_changes',
        'loader': 'ingest/cdc',
        'relation': source('shop', 'shop_changes'),
        'source_time': 'source_committed_at',
    },
    {
        'name': 'raw.shop_events',
        'loader': 'ingest/kafka',
        'relation': source('clickstream', 'shop_events'),
        'source_time': 'event_time',
    },
    {
        'name': 'raw.dead_letters',
        'loader': 'ingest/kafka, ingest/cdc',
        'relation': source('ingestion', 'dead_letters'),
        'source_time': 'received_at',
    },
]
%}
{#- The typed change log's tables (raw_shop.<source table>), each with its own row per day. -#}
{%- for table_name in cdc_existing_typed_tables() %}
{%- do raw_tables.append({
    'name': 'raw_shop.' ~ table_name,
    'loader': 'ingest/cdc',
    'relation': source('raw_shop', table_name),
    'source_time': 'source_committed_at',
}) %}
{%- endfor %}

with

{% for raw_table in raw_tables %}
{{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_loads as (

    select
        '{{ raw_table.name }}' as source_table,
        '{{ raw_table.loader }}' as loader,
        (_loaded_at at time zone 'UTC')::date as load_date,
        count(*) as row_count,
        min(_loaded_at) as first_loaded_at,
        max(_loaded_at) as last_loaded_at,
        max({{ raw_table.source_time }}) as last_source_event_at
    from {{ raw_table.relation }}
    {%- if is_incremental() %}
    where
        _loaded_at >= date_trunc(
            'day',
            {{ load_watermark('last_loaded_at', "kept.source_table = '" ~ raw_table.name ~ "'") }},
            'UTC'
        )
    {%- endif %}
    group by 3

),

{% endfor %}
final as (

    {% for raw_table in raw_tables %}
    select
        ---------- strings
        source_table,
        loader,

        ---------- numerics
        row_count::bigint as row_count,

        ---------- dates
        load_date,

        ---------- timestamps
        first_loaded_at,
        last_loaded_at,
        last_source_event_at

    from {{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_loads
    {% if not loop.last %}
    union all
    {% endif %}
    {% endfor %}

)

select * from final
