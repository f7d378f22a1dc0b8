{#
    Changes of the shop's tables that staging cannot type (a key or value the casts of
    shop_columns() cannot hold), with the reason and where the change sits in the log. The
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
{%- set since = staged_watermark('stg_shop__' ~ table_name, 'change_id') -%}
{%- endif -%}
{{ table_name }}_rejects as (

    select
        ---------- ids
        shop_changes.change_id,
        shop_changes.primary_key,

        ---------- strings
        shop_changes.table_name,
        shop_changes.operation,
        {{ untypeable_reason(cdc_typing_checks(key_column, columns)) }} as reject_reason,
        shop_changes.binlog_file,
        shop_changes.snapshot_id,

        ---------- numerics
        shop_changes.binlog_position,
        shop_changes.row_index,

        ---------- json
        coalesce(shop_changes.after_image, shop_changes.before_image) as row_image,

        ---------- timestamps
        shop_changes.source_committed_at,
        shop_changes._loaded_at

    from {{ source('shop', 'shop_changes') }} as shop_changes
    where
        shop_changes.table_name = '{{ table_name }}'
        and shop_changes.operation in ('snapshot', 'insert', 'update', 'delete')
        -- Everything on a full build (0), else the staging model's window.
        and shop_changes.change_id > {{ since if since is not none else 0 }}
        and {{ cdc_row_is_rejected(key_column, columns) }}

),

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
