{#
    Customers as SCD2: one row per version of a customer, built from the CDC change log so
    history loaded in one go is still versioned by the source's updated_at. Facts join the
    version valid when the order was placed.
#}
with

customer_versions as (

    select * from {{ ref('stg_shop__customer_versions') }}

),

versioned as (

    {{ scd2_from_versions('customer_versions', 'customer_id', 'customer_key', [
        'email', 'first_name', 'last_name', 'phone', 'country_code', 'region', 'city',
        'postal_code', 'street_address', 'signup_channel', 'signed_up_at', 'updated_at',
    ]) }}

),

final as (

    select
        ---------- ids
        customer_key,
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

        ---------- numerics
        version_number,

        ---------- booleans
        is_current,
        is_deleted,

        ---------- timestamps
        signed_up_at,
        updated_at,
        valid_from,
        valid_to

    from versioned

)

select * from final
