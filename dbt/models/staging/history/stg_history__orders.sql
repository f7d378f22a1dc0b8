-- A shop's exported orders (docs/history.md) as the shop's orders: status in the shop's words,
-- amounts to the cent, times in UTC. Read by stg_shop__orders next to the change log.

with

orders as (

    {{ history_rows('history_orders', [
        ('order_id', 'bigint'),
        ('customer_id', 'bigint'),
        ('placed_at', 'timestamp without time zone'),
        ('status', 'text'),
        ('currency', 'text'),
        ('total_amount', 'numeric(12, 2)'),
        ('subtotal_amount', 'numeric(12, 2)'),
        ('discount_amount', 'numeric(12, 2)'),
        ('shipping_amount', 'numeric(12, 2)'),
        ('tax_amount', 'numeric(12, 2)'),
        ('ship_country_code', 'text'),
        ('ship_region', 'text'),
        ('ship_city', 'text'),
        ('ship_postal_code', 'text'),
    ]) }}

),

stg_history__rejects as (

    select * from {{ ref('stg_history__rejects') }}

),

renamed as (

    select
        ---------- ids
        order_id,
        customer_id,
        null::text as session_id,

        ---------- strings
        {{ history_order_status('status') }} as status,
        upper(nullif(trim(currency), '')) as currency,
        upper(nullif(trim(ship_country_code), '')) as ship_country_code,
        ship_region,
        ship_city,
        ship_postal_code,

        ---------- numerics
        -- Without a subtotal, the goods are what the customer paid less shipping and tax,
        -- before the discount.
        coalesce(
            subtotal_amount,
            total_amount - coalesce(shipping_amount, 0) - coalesce(tax_amount, 0)
            + coalesce(discount_amount, 0)
        ) as subtotal_amount,
        coalesce(discount_amount, 0) as discount_amount,
        coalesce(shipping_amount, 0) as shipping_amount,
        coalesce(tax_amount, 0) as tax_amount,
        total_amount,

        ---------- timestamps
        placed_at at time zone 'UTC' as placed_at,
        null::timestamptz as paid_at,
        null::timestamptz as shipped_at,
        null::timestamptz as delivered_at,
        null::timestamptz as cancelled_at,
        null::timestamptz as returned_at,
        placed_at at time zone 'UTC' as created_at,
        placed_at at time zone 'UTC' as updated_at,

        ---------- change log
        _change_id,
        _loaded_at

    from orders
    -- A rejected order is left out (stg_history__rejects names it, with the reason).
    where not exists (
        select 1
        from stg_history__rejects
        where stg_history__rejects._change_id = orders._change_id
    )

)

select * from renamed
