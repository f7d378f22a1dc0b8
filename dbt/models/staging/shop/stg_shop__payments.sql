{{
    config(
        materialized = 'incremental',
        unique_key = 'payment_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['payment_id'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['_change_id']},
        ],
        post_hook = "{{ cdc_remove_tombstones('payments') }}",
    )
}}

-- Changes staging cannot type are listed first, in the window this model is about to read.
-- depends_on: {{ ref('stg_shop__change_rejects') }}

with

source as (

    {{ cdc_current_state('payments', 'payment_id', shop_columns('payments')) }}

),

renamed as (

    select
        ---------- ids
        payment_id,
        order_id,

        ---------- strings
        payment_method,
        status as payment_status,
        card_fingerprint,
        ip_country_code,

        ---------- numerics
        amount,

        ---------- timestamps
        attempted_at,
        created_at,
        updated_at,

        ---------- change log
        _change_id,
        _is_deleted,
        _loaded_at

    from source

)

select * from renamed
