{#
    Changes of the shop's tables that staging cannot type (a value the ingestor could not put in
    its raw_shop column and kept in _unmapped, or a raw value wider than shop_columns()' type),
    with the reason and where the change sits in the log. The
    staging models leave these changes out (cdc_typed_changes), so one bad row never stops
    the build; the ops_staging_rejects mart and the marts gate make them loud.

    Incremental: per source table, the changes after the position its current-state model
    (stg_shop__<table>) has reached, checked before that model runs (every current-state
    model depends on this one). A change already listed is not listed again.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'change_id',
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['change_id'], 'unique': true},
        ],
    )
}}

with

{% for table_name, columns in shop_source_tables().items() -%}
{%- set key_column = columns[0][0] -%}
{%- set since = none -%}
{%- if is_incremental() -%}
{%- set since = staged_watermark('stg_shop__' ~ table_name) -%}
{%- endif -%}
{%- set raw_types = cdc_raw_column_types(table_name) -%}
{% if raw_types is none -%}
{{ table_name }}_rejects as (

    -- No change of this table has landed yet.
    select
        null::bigint as change_id,
        null::jsonb as primary_key,
        null::text as table_name,
        null::text as operation,  -- noqa: RF04
        null::text as reject_reason,
        null::text as binlog_file,
        null::text as snapshot_id,
        null::bigint as binlog_position,
        null::integer as row_index,
        null::jsonb as row_image,
        null::timestamptz as source_committed_at,
        null::timestamptz as _loaded_at
    where false

),

{% else -%}
{{ table_name }}_rejects as (

    select
        ---------- ids
        changes.change_id,
        changes._key::jsonb as primary_key,

        ---------- strings
        '{{ table_name }}'::text as table_name,
        changes.operation,
        {{ cdc_typed_reject_reason(key_column, columns, raw_types, 'changes') }} as reject_reason,
        changes.binlog_file,
        changes.snapshot_id,

        ---------- numerics
        changes.binlog_position,
        changes.row_index,

        ---------- json
        -- The row as the source held it: its typed columns, and what did not fit them.
        (to_jsonb(changes) - array[{{ "'" ~ cdc_typed_meta_columns() | join("', '") ~ "'" }}])
        || coalesce(changes._unmapped, '{}'::jsonb) as row_image,

        ---------- timestamps
        changes.source_committed_at,
        changes._loaded_at

    from {{ source('raw_shop', table_name) }} as changes
    where
        -- Everything on a full build (0), else the staging model's window.
        changes.change_id > {{ since if since is not none else 0 }}
        and not {{ cdc_typed_row_is_typeable(key_column, columns, raw_types, 'changes') }}

),

{% endif -%}
{% endfor -%}

unioned as (

    {% for table_name in shop_source_tables() -%}
    select * from {{ table_name }}_rejects
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

),

final as (

    select *
    from unioned
    {%- if is_incremental() %}
    where
        not exists (
            select 1
            from {{ this }} as kept
            where kept.change_id = unioned.change_id
        )
    {%- endif %}

)

select * from final
