{# Every version of every products row, deletes included (macros/versions.sql). #}
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

{{- shop_versions('products', 'product_id') }}
