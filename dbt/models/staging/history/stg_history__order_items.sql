-- A shop's exported order lines (docs/history.md) as the shop's order items. A line without
-- its total is quantity x unit price less its discount.

with

order_lines as (

    {{ history_rows('history_order_lines', [
        ('order_item_id', 'bigint'),
        ('order_id', 'bigint'),
        ('product_id', 'bigint'),
        ('quantity', 'integer'),
        ('unit_price', 'numeric(12, 2)'),
        ('discount_amount', 'numeric(12, 2)'),
        ('line_total', 'numeric(12, 2)'),
    ]) }}

),

stg_history__orders as (

    select * from {{ ref('stg_history__orders') }}

),

-- The order a key stands for: its last row (an identical copy, or a later file's row, may
-- repeat it).
latest_orders as (

    select distinct on (order_id)
        order_id,
        placed_at
    from stg_history__orders
    order by order_id asc, _change_id desc

),

stg_history__rejects as (

    select * from {{ ref('stg_history__rejects') }}

),

renamed as (

    select
        ---------- ids
        order_lines.order_item_id,
        order_lines.order_id,
        order_lines.product_id,

        ---------- numerics
        order_lines.quantity,
        order_lines.unit_price,
        coalesce(order_lines.discount_amount, 0) as discount_amount,
        coalesce(
            order_lines.line_total,
            order_lines.quantity * order_lines.unit_price - coalesce(order_lines.discount_amount, 0)
        ) as line_total,

        ---------- timestamps
        coalesce(latest_orders.placed_at, order_lines._loaded_at) as created_at,
        coalesce(latest_orders.placed_at, order_lines._loaded_at) as updated_at,

        ---------- change log
        order_lines._change_id,
        order_lines._loaded_at

    from order_lines
    -- A line may belong to an order of the live shop: its time is then the line's landing.
    left join latest_orders
        on order_lines.order_id = latest_orders.order_id
    where not exists (
        select 1
        from stg_history__rejects
        where stg_history__rejects._change_id = order_lines._change_id
    )

)

select * from renamed
