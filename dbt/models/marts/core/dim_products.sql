{#
    Products as SCD2 (price and cost change over time), built from the CDC change log.
    Order lines join the version valid when the order was placed.
#}
with

product_versions as (

    select * from {{ ref('stg_shop__product_versions') }}

),

versioned as (

    {{ scd2_from_versions('product_versions', 'product_id', 'product_key', [
        'sku', 'product_name', 'category', 'subcategory', 'brand', 'price', 'cost',
        'is_active', 'launched_at', 'updated_at',
    ]) }}

),

final as (

    select
        ---------- ids
        product_key,
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
        version_number,

        ---------- booleans
        is_active,
        is_current,
        is_deleted,

        ---------- timestamps
        launched_at,
        updated_at,
        valid_from,
        valid_to

    from versioned

)

select * from final
