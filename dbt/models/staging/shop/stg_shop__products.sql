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
        post_hook = "{{ cdc_remove_tombstones('products') }}",
    )
}}

-- Changes staging cannot type are listed first, in the window this model is about to read.
-- depends_on: {{ ref('stg_shop__change_rejects') }}

with

source as (

    {{ cdc_current_state('products', 'product_id', shop_columns('products')) }}

),

renamed as (

    select
        ---------- ids
        product_id,

        ---------- strings
        sku,
        product_name,
        category,
        subcategory,
        brand,

        ---------- numerics
        price,
        cost,

        ---------- booleans
        is_active,

        ---------- timestamps
        launched_at,
        created_at,
        updated_at,

        ---------- change log
        _change_id,
        _is_deleted,
        _loaded_at

    from source

)

select * from renamed
