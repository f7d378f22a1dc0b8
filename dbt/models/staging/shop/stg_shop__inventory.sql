{{
    config(
        materialized = 'incremental',
        unique_key = 'product_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['product_id'], 'unique': true},
            {'columns': ['_change_id']},
        ],
        post_hook = "{{ cdc_remove_tombstones('inventory') }}",
    )
}}

-- Changes staging cannot type are listed first, in the window this model is about to read.
-- depends_on: {{ ref('stg_shop__change_rejects') }}

with

source as (

    {{ cdc_current_state('inventory', 'product_id', shop_columns('inventory')) }}

),

renamed as (

    select
        ---------- ids
        product_id,

        ---------- numerics
        quantity_on_hand,
        reorder_point,
        reorder_quantity,

        ---------- timestamps
        last_restocked_at,
        created_at,
        updated_at,

        ---------- change log
        _change_id,
        _is_deleted,
        _loaded_at

    from source

)

select * from renamed
