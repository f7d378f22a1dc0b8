{{
    config(
        materialized = 'incremental',
        unique_key = 'order_item_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['order_item_id'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['_change_id']},
        ],
        post_hook = "{{ cdc_remove_tombstones('order_items') }}",
    )
}}

-- Changes staging cannot type are listed first, in the window this model is about to read.
-- depends_on: {{ ref('stg_shop__change_rejects') }}

with

source as (

    {{ cdc_current_state('order_items', 'order_item_id', shop_columns('order_items')) }}

),

renamed as (

    select
        ---------- ids
        order_item_id,
        order_id,
        product_id,

        ---------- numerics
        quantity,
        unit_price,
        discount_amount,
        line_total,

        ---------- timestamps
        created_at,
        updated_at,

        ---------- change log
        _change_id,
        _is_deleted,
        _loaded_at

    from source

)

select * from renamed
