{#
    Every version of every customers row the change log has seen, deletes included: the
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
            {'columns': ['customer_id', '_change_id']},
        ],
        post_hook = "{{ cdc_remove_before_boundary('customers') }}",
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
            'customers', 'customer_id', shop_columns('customers'), since,
            after_last_truncate = false,
        )
    }}

),

renamed as (

    select *
    from source

)

select * from renamed
