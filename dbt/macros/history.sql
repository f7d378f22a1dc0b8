{#
    "Bring your history" (docs/history.md): a shop's CSV export of customers, orders and order
    lines, landed by ingest/files into raw_files.history_customers, history_orders and
    history_order_lines, staged by the stg_history__* models onto the shop's own columns
    (shop_columns) and read by the shop staging models next to the change log, so every mart
    counts both.
#}

{# The shop tables a history export fills, and the staging model that maps it onto each. #}
{% macro shop_history_models() -%}
    {{ return({
        'customers': 'stg_history__customers',
        'products': 'stg_history__products',
        'orders': 'stg_history__orders',
        'order_items': 'stg_history__order_items',
    }) }}
{%- endmacro %}

{#
    The history of one shop table as change-log rows (the columns of cdc_typed_changes), to
    append to the change log's rows with union all. Their _change_id is negative (see
    history_rows), so for a key the live shop also has, its change-log row is the later one
    and wins. Read on full builds only (the first build, --full-refresh): an incremental run
    folds in the change log's new positions, and a history is a backfill (docs/history.md).
#}
{% macro shop_history_changes(table_name) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('shop_history_changes')(table_name)) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__shop_history_changes(table_name)) }}
    {%- endif -%}
{%- endmacro %}

{# The lakehouse target reads no history export yet: ingest/files lands it in Postgres only. #}
{% macro spark__shop_history_changes(table_name) -%}
{%- endmacro %}

{% macro default__shop_history_changes(table_name) -%}
    {%- set models = shop_history_models() -%}
    {%- if table_name in models and not is_incremental() %}

    union all

    -- The shop's history from its export (docs/history.md); the live shop's rows are later.
    select
        history._change_id,
        'snapshot'::text as _operation,
        false as _is_deleted,
        null::timestamptz as _source_committed_at,
        history._loaded_at
        {%- for column in shop_columns(table_name) %},
        history.{{ column[0] }}::{{ column[1] }} as {{ column[0] }}
        {%- endfor %}
    from {{ ref(models[table_name]) }} as history
    {%- endif %}
{%- endmacro %}

{#
    Rows of the current version of each file of one history source (raw_files.<source>), with
    the file's name and version (_file_name, _file_version, where a reject points) and
    a _change_id of their own: negative, unique per file version and line, later files and
    lines greater, so "latest per key" keeps the last row an export gives a key and any live
    change-log row (positive) outranks them all.
#}
{% macro history_rows(source_name, columns) -%}
    with

    current_versions as (

        select distinct on (file_name)
            file_id,
            file_name,
            version
        from {{ source('files', 'file_manifest') }}
        where
            source_name = '{{ source_name }}'
            and layout = 'typed'
        order by file_name asc, version desc

    ),

    typed_rows as (

        {{ files_typed_rows(source_name, columns) }}

    )

    select
        (typed_rows.file_id << 32) + typed_rows.line_number - (1::bigint << 62) as _change_id,
        current_versions.file_name as _file_name,
        current_versions.version as _file_version,
        typed_rows.*
    from typed_rows
    inner join current_versions
        on typed_rows.file_id = current_versions.file_id
{%- endmacro %}

{#
    An export's order status as the shop's (placed, paid, shipped, delivered, cancelled,
    returned), case and spaces ignored; an empty status is a delivered order (what a history
    mostly holds). Null for a word not listed: such an order is left out and named in
    stg_history__rejects.
#}
{% macro history_order_status(column_sql) -%}
    case lower(trim(coalesce({{ column_sql }}, '')))
        when '' then 'delivered'
        when 'placed' then 'placed'
        when 'pending' then 'placed'
        when 'new' then 'placed'
        when 'paid' then 'paid'
        when 'processing' then 'paid'
        when 'shipped' then 'shipped'
        when 'delivered' then 'delivered'
        when 'completed' then 'delivered'
        when 'complete' then 'delivered'
        when 'fulfilled' then 'delivered'
        when 'cancelled' then 'cancelled'
        when 'canceled' then 'cancelled'
        when 'voided' then 'cancelled'
        when 'returned' then 'returned'
        when 'refunded' then 'returned'
    end
{%- endmacro %}
