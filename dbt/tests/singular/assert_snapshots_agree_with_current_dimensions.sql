{#
    The warehouse's own SCD2 snapshots and the change-log dimensions agree on the present:
    for every customer and product, the current snapshot row and the current dimension
    version carry the same attributes and updated_at (and a row deleted in one is deleted,
    or absent, in the other). Their pasts may differ: the snapshots start when the
    warehouse first saw a row; the dimensions hold the full history of the change log.
#}
with

customers_snapshot as (

    select * from {{ ref('customers_snapshot') }}
    where snapshot_valid_to is null and not coalesce(snapshot_is_deleted = 'True', false)

),

dim_customers as (

    select * from {{ ref('dim_customers') }}
    where is_current

),

products_snapshot as (

    select * from {{ ref('products_snapshot') }}
    where snapshot_valid_to is null and not coalesce(snapshot_is_deleted = 'True', false)

),

dim_products as (

    select * from {{ ref('dim_products') }}
    where is_current

),

customer_differences as (

    select
        'customer '
        || {{ as_text('coalesce(customers_snapshot.customer_id, dim_customers.customer_id)') }}
            as failing_key
    from customers_snapshot
    full outer join dim_customers
        on customers_snapshot.customer_id = dim_customers.customer_id
    where
        customers_snapshot.customer_id is null
        or dim_customers.customer_id is null
        or customers_snapshot.updated_at is distinct from dim_customers.updated_at
        or customers_snapshot.email is distinct from dim_customers.email
        or customers_snapshot.city is distinct from dim_customers.city
        or customers_snapshot.country_code is distinct from dim_customers.country_code

),

product_differences as (

    select
        'product '
        || {{ as_text('coalesce(products_snapshot.product_id, dim_products.product_id)') }}
            as failing_key
    from products_snapshot
    full outer join dim_products
        on products_snapshot.product_id = dim_products.product_id
    where
        products_snapshot.product_id is null
        or dim_products.product_id is null
        or products_snapshot.updated_at is distinct from dim_products.updated_at
        or products_snapshot.price is distinct from dim_products.price
        or products_snapshot.is_active is distinct from dim_products.is_active

)

select * from customer_differences
union all
select * from product_differences
