-- A shop's exported customers (docs/history.md) as the shop's customers. A guest (one-time
-- buyer) often has no sign-up date: their first exported order stands in for it.

with

customers as (

    {{ history_rows('history_customers', [
        ('customer_id', 'bigint'),
        ('email', 'text'),
        ('first_name', 'text'),
        ('last_name', 'text'),
        ('phone', 'text'),
        ('country_code', 'text'),
        ('region', 'text'),
        ('city', 'text'),
        ('postal_code', 'text'),
        ('street_address', 'text'),
        ('signed_up_at', 'timestamp without time zone'),
    ]) }}

),

stg_history__orders as (

    select * from {{ ref('stg_history__orders') }}

),

first_orders as (

    select
        customer_id,
        min(placed_at) as first_placed_at
    from stg_history__orders
    group by 1

),

renamed as (

    select
        ---------- ids
        customers.customer_id,

        ---------- strings
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.phone,
        upper(nullif(trim(customers.country_code), '')) as country_code,
        customers.region,
        customers.city,
        customers.postal_code,
        customers.street_address,
        null::text as signup_channel,

        ---------- timestamps
        coalesce(customers.signed_up_at at time zone 'UTC', first_orders.first_placed_at)
            as signed_up_at,
        -- The customer's first version must be valid when their first order was placed
        -- (fct_orders joins the version valid then), even if the account came later.
        coalesce(
            least(customers.signed_up_at at time zone 'UTC', first_orders.first_placed_at),
            customers._loaded_at
        ) as created_at,
        coalesce(
            customers.signed_up_at at time zone 'UTC',
            first_orders.first_placed_at,
            customers._loaded_at
        ) as updated_at,

        ---------- change log
        customers._change_id,
        customers._loaded_at

    from customers
    left join first_orders
        on customers.customer_id = first_orders.customer_id

)

select * from renamed
