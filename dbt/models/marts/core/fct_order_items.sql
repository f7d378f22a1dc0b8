{#
    One row per order line, with the product version valid when the order was placed (so
    category and list price are those of that day) and the order's status.

    Incremental: lines are rebuilt when the line, its order, or the product's history
    changed after the watermark.
#}
-- depends_on: {{ ref('stg_shop__product_versions') }}
{{
    config(
        materialized = 'incremental',
        unique_key = 'order_item_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        meta = {'test_window': '__recent_changes__(source_change_id)'},
        indexes = [
            {'columns': ['order_item_id'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['product_id']},
            {'columns': ['order_date']},
            {'columns': ['source_change_id']},
        ],
        pre_hook = "{{ delete_vanished_rows('order_item_id', ref('stg_shop__order_items'), 'order_items') }}",
    )
}}

with

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

),

changed_items as (

    {%- if is_incremental() %}
    {%- set watermark = change_watermark() %}

    -- Each part reads its tables directly: a CTE read more than once is materialised whole
    -- before the change-id filters can use their indexes.
    select changed.order_item_id
    from {{ ref('stg_shop__order_items') }} as changed
    where changed._change_id > {{ watermark }}

    union

    select order_lines.order_item_id
    from {{ ref('stg_shop__orders') }} as changed_orders
    inner join {{ ref('stg_shop__order_items') }} as order_lines
        on changed_orders.order_id = order_lines.order_id
    where changed_orders._change_id > {{ watermark }}

    union

    -- a product version written late changes which version older lines join
    select product_lines.order_item_id
    from {{ ref('stg_shop__product_versions') }} as product_versions
    inner join {{ ref('stg_shop__order_items') }} as product_lines
        on product_versions.product_id = product_lines.product_id
    inner join {{ ref('stg_shop__orders') }} as line_orders
        on
            product_lines.order_id = line_orders.order_id
            and product_versions.updated_at <= line_orders.placed_at
    where product_versions._change_id > {{ watermark }}

    {%- else %}

    select order_items.order_item_id
    from order_items

    {%- endif %}

),

items_in_scope as (

    select order_items.*
    from order_items
    inner join changed_items
        on order_items.order_item_id = changed_items.order_item_id

),

joined as (

    select
        ---------- ids
        items_in_scope.order_item_id,
        items_in_scope.order_id,
        items_in_scope.product_id,
        dim_products.product_key,
        orders.customer_id,

        ---------- strings
        orders.order_status,
        dim_products.category,
        dim_products.subcategory,
        dim_products.brand,

        ---------- numerics
        items_in_scope.quantity,
        items_in_scope.unit_price::numeric(14, 2) as unit_price,
        items_in_scope.discount_amount::numeric(14, 2) as discount_amount,
        items_in_scope.line_total::numeric(14, 2) as line_total,
        case
            when orders.order_status in ('cancelled', 'returned') then 0
            else items_in_scope.line_total
        end::numeric(14, 2) as net_line_total,
        (items_in_scope.quantity * dim_products.cost)::numeric(14, 2) as line_cost,

        ---------- booleans
        orders.order_status = 'cancelled' as is_cancelled,
        orders.order_status = 'returned' as is_returned,

        ---------- dates
        {{ utc_date('orders.placed_at') }} as order_date,

        ---------- timestamps
        orders.placed_at,

        ---------- lineage
        greatest(items_in_scope._change_id, orders._change_id) as source_change_id

    from items_in_scope
    inner join orders
        on items_in_scope.order_id = orders.order_id
    left join dim_products
        on
            items_in_scope.product_id = dim_products.product_id
            and {{ valid_at('dim_products', 'orders.placed_at') }}

)

select * from joined
