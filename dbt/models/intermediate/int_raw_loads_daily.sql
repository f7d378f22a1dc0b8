{#
    Rows landed per raw table and UTC load day: the ledger ops_source_freshness sums, so the
    freshness mart never counts the raw tables themselves (tens of millions of rows).

    Incremental, two ways:
    - raw.shop_events (an append-only log of Kafka positions): the rows past the offsets this
      model has counted per topic and partition (macros/clickstream_batches.sql,
      raw_events_batch) are counted and added to the kept days they landed in. A load time
      says nothing here: a backfill stamps a year of events into today, and recounting today
      read all of it again on every cycle.
    - the change-log tables: the whole UTC day of the newest kept load (less var
      events_lookback_minutes, for transactions that commit after they stamp their rows) and
      every later day are counted again and replace what was kept for those days; older days
      are not read. A discarded interrupted CDC snapshot deletes raw rows of the current day or
      a recent one, which a later run recounts.
    A full refresh recounts everything.
#}
{%- set event_batch = raw_events_batch() %}
{{
    config(
        materialized = 'incremental',
        unique_key = ['source_table', 'load_date'],
        incremental_strategy = 'delete+insert',
        on_schema_change = 'fail',
        post_hook = ["{{ record_clickstream_batch() }}"],
    )
}}
{{ clickstream_batch_marker(event_batch) }}
{#- The kept rows a batch's counts add to: none when the batch counts from the start. #}
{%- set kept_loads = this if not event_batch.full else
    '(select null::text as source_table, null::date as load_date, null::bigint as row_count,'
    ~ ' null::timestamptz as first_loaded_at, null::timestamptz as last_loaded_at,'
    ~ ' null::timestamptz as last_source_event_at where false)' %}

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
        'by_offset': true,
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
{%- if raw_table.by_offset %}
{{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_batch_rows as (

    {{ raw_events_batch_rows(event_batch) }}

),

{{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_batch as (

    select
        (_loaded_at at time zone 'UTC')::date as load_date,
        count(*) as row_count,
        min(_loaded_at) as first_loaded_at,
        max(_loaded_at) as last_loaded_at,
        max({{ raw_table.source_time }}) as last_source_event_at
    from {{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_batch_rows
    group by 1

),

{{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_kept as (

    -- What earlier runs counted (nothing when this run counts from the start).
    select
        kept.load_date,
        kept.row_count,
        kept.first_loaded_at,
        kept.last_loaded_at,
        kept.last_source_event_at
    from {{ kept_loads }} as kept
    where kept.source_table = '{{ raw_table.name }}'

),

{{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_loads as (

    -- The batch's counts added to what was kept for the same days.
    select
        '{{ raw_table.name }}' as source_table,
        '{{ raw_table.loader }}' as loader,
        batch.load_date,
        batch.row_count + coalesce(kept.row_count, 0) as row_count,
        least(batch.first_loaded_at, kept.first_loaded_at) as first_loaded_at,
        greatest(batch.last_loaded_at, kept.last_loaded_at) as last_loaded_at,
        greatest(
            batch.last_source_event_at, kept.last_source_event_at
        ) as last_source_event_at
    from {{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_batch as batch
    left join {{ raw_table.relation.schema }}_{{ raw_table.relation.identifier }}_kept as kept
        on batch.load_date = kept.load_date

),
{%- else %}
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
{%- endif %}

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
