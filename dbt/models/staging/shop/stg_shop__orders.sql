{{
    config(
        materialized = 'incremental',
        unique_key = 'order_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['order_id'], 'unique': true},
            {'columns': ['_change_id']},
        ],
        post_hook = "{{ cdc_remove_tombstones('orders') }}",
    )
}}

-- Changes staging cannot type are listed first, in the window this model is about to read.
-- depends_on: {{ ref('stg_shop__change_rejects') }}

with

source as (

    {{ cdc_current_state('orders', 'order_id', shop_columns('orders')) }}

),

renamed as (

    select
        ---------- ids
        order_id,
        customer_id,
        session_id,

        ---------- strings
        status as order_status,
        currency as currency_code,
        ship_country_code,
        ship_region,
        ship_city,
        ship_postal_code,

        ---------- numerics
        subtotal_amount,
        discount_amount,
        shipping_amount,
        tax_amount,
        total_amount,

        ---------- timestamps
        placed_at,
        paid_at,
        shipped_at,
        delivered_at,
        cancelled_at,
        returned_at,
        created_at,
        updated_at,

        ---------- change log
        _change_id,
        _is_deleted,
        _loaded_at

    from source

)

select * from renamed
