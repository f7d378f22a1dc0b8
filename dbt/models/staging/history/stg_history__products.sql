-- The products a shop's export sold (docs/history.md), from its order lines: one version per
-- product id, named as its latest line names it, at its latest unit price, valid from its
-- first sale (so every exported line finds it) and not active in the live catalogue.

with

order_lines as (

    {{ history_rows('history_order_lines', [
        ('order_item_id', 'bigint'),
        ('product_id', 'bigint'),
        ('sku', 'text'),
        ('product_name', 'text'),
        ('category', 'text'),
        ('unit_price', 'numeric(12, 2)'),
    ]) }}

),

stg_history__order_items as (

    select * from {{ ref('stg_history__order_items') }}

),

sold_lines as (

    select
        order_lines.*,
        stg_history__order_items.created_at as sold_at,
        min(stg_history__order_items.created_at) over (
            partition by order_lines.product_id
        ) as first_sold_at
    from order_lines
    inner join stg_history__order_items
        on order_lines.order_item_id = stg_history__order_items.order_item_id

),

latest_lines as (

    select distinct on (product_id) *
    from sold_lines
    order by product_id asc, sold_at desc, _change_id desc

),

renamed as (

    select
        ---------- ids
        product_id,

        ---------- strings
        sku,
        coalesce(product_name, sku) as product_name,
        category,
        null::text as subcategory,
        null::text as brand,

        ---------- numerics
        unit_price as price,
        -- cost is the shop's column name (shop_columns), keyword or not
        null::numeric(12, 2) as cost,  -- noqa: RF04

        ---------- booleans
        false as is_active,

        ---------- timestamps
        first_sold_at as launched_at,
        first_sold_at as created_at,
        first_sold_at as updated_at,

        ---------- change log
        _change_id,
        _loaded_at

    from latest_lines

)

select * from renamed
