{{
    config(
        materialized = 'incremental',
        unique_key = 'restock_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['restock_id'], 'unique': true},
            {'columns': ['_change_id']},
        ],
        post_hook = "{{ cdc_remove_tombstones('restocks') }}",
    )
}}

-- Changes staging cannot type are listed first, in the window this model is about to read.
-- depends_on: {{ ref('stg_shop__change_rejects') }}

with

source as (

    {{ cdc_current_state('restocks', 'restock_id', shop_columns('restocks')) }}

),

renamed as (

    select
        ---------- ids
        restock_id,
        product_id,

        ---------- numerics
        quantity,
        unit_cost,

        ---------- timestamps
        received_at,
        created_at,
        updated_at,

        ---------- change log
        _change_id,
        _is_deleted,
        _loaded_at

    from source

)

select * from renamed
