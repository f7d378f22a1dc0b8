{#
    Every version of every row of one shop table the change log has seen, deletes included:
    the history the SCD2 dimension is built from (the source writes real UPDATEs with
    updated_at in business time). The body of the stg_shop__<entity>_versions models, which
    keep their own config (indexes differ). Append-only: a change is never rewritten.
#}
{% macro shop_versions(table_name, key_column) -%}
{%- set since = none -%}
{%- if is_incremental() -%}
{%- set since = change_watermark('_change_id') -%}
{%- endif %}

with

source as (

    {{
        cdc_typed_changes(
            table_name, key_column, shop_columns(table_name), since,
            after_last_truncate = false,
        )
    }}
    {{- shop_history_changes(table_name) }}

),

renamed as (

    select *
    from source

)

select * from renamed
{%- endmacro %}
