{#
    Every version of every products row the change log has seen, deletes included: the
    history the SCD2 dimension is built from (the source writes real UPDATEs with
    updated_at in business time). Append-only: a change is never rewritten.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = '_change_id',
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['_change_id'], 'unique': true},
            {'columns': ['product_id', '_change_id']},
        ],
        post_hook = "{{ cdc_remove_before_boundary('products') }}",
    )
}}

{%- set since = none -%}
{%- if is_incremental() -%}
{%- set since = change_watermark('_change_id') -%}
{%- endif %}

with

source as (

    {{
        cdc_typed_changes(
            'products', 'product_id', shop_columns('products'), since,
            after_last_truncate = false,
        )
    }}

),

renamed as (

    select *
    from source

)

select * from renamed
