{# Every version of every customers row, deletes included (macros/versions.sql). #}
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

{{- shop_versions('customers', 'customer_id') }}
