{{
    config(
        materialized = 'incremental',
        unique_key = 'customer_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['customer_id'], 'unique': true},
            {'columns': ['_change_id']},
        ],
        post_hook = "{{ cdc_remove_tombstones('customers') }}",
    )
}}

-- Changes staging cannot type are listed first, in the window this model is about to read.
-- depends_on: {{ ref('stg_shop__change_rejects') }}

with

source as (

    {{ cdc_current_state('customers', 'customer_id', shop_columns('customers')) }}

),

renamed as (

    select
        ---------- ids
        customer_id,

        ---------- strings
        email,
        first_name,
        last_name,
        phone,
        country_code,
        region,
        city,
        postal_code,
        street_address,
        signup_channel,

        ---------- timestamps
        signed_up_at,
        created_at,
        updated_at,

        ---------- change log
        _change_id,
        _is_deleted,
        _loaded_at

    from source

)

select * from renamed
