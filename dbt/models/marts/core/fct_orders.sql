{#
    One row per order: lifecycle timestamps, amounts, line and payment summaries, and the
    customer's address as it was when the order was placed (SCD2 point-in-time join).

    Incremental: an order is rebuilt when its own row, one of its lines or payments, or the
    history of its customer changed after the watermark.
#}
-- depends_on: {{ ref('stg_shop__customer_versions') }}
{{
    config(
        materialized = 'incremental',
        unique_key = 'order_id',
        incremental_strategy = upsert_strategy(),
        on_schema_change = 'fail',
        meta = {'test_window': '__recent_changes__(source_change_id)'},
        indexes = [
            {'columns': ['order_id'], 'unique': true},
            {'columns': ['customer_id']},
            {'columns': ['order_date']},
            {'columns': ['source_change_id']},
        ],
        pre_hook = "{{ delete_vanished_rows('order_id', ref('stg_shop__orders'), 'orders') }}",
    )
}}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

payments as (

    select * from {{ ref('stg_shop__payments') }}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

changed_orders as (

    {%- if is_incremental() %}
    {%- set watermark = change_watermark() %}

    -- Each part reads its table directly: a CTE read more than once is materialised whole
    -- (every order of the history) before the change-id filters can use their indexes.
    select changed.order_id
    from {{ ref('stg_shop__orders') }} as changed
    where changed._change_id > {{ watermark }}

    union

    select changed_items.order_id
    from {{ ref('stg_shop__order_items') }} as changed_items
    where changed_items._change_id > {{ watermark }}

    union

    select changed_payments.order_id
    from {{ ref('stg_shop__payments') }} as changed_payments
    where changed_payments._change_id > {{ watermark }}

    union

    -- a line or payment deleted in the shop changes its order's totals
    {{ cdc_deleted_values('order_items', 'order_id', watermark) }}

    union

    {{ cdc_deleted_values('payments', 'order_id', watermark) }}

    union

    -- a customer version written late changes which version older orders join
    select customer_orders.order_id
    from {{ ref('stg_shop__customer_versions') }} as customer_versions
    inner join {{ ref('stg_shop__orders') }} as customer_orders
        on
            customer_versions.customer_id = customer_orders.customer_id
            and customer_versions.updated_at <= customer_orders.placed_at
    where customer_versions._change_id > {{ watermark }}

    {%- else %}

    select orders.order_id
    from orders

    {%- endif %}

),

orders_in_scope as (

    select orders.*
    from orders
    inner join changed_orders
        on orders.order_id = changed_orders.order_id

),

items_per_order as (

    select
        order_items.order_id,
        count(*) as item_line_count,
        sum(order_items.quantity) as unit_count,
        sum(order_items.line_total) as items_line_total,
        max(order_items._change_id) as max_change_id
    from order_items
    inner join orders_in_scope
        on order_items.order_id = orders_in_scope.order_id
    group by 1

),

payments_per_order as (

    select
        payments.order_id,
        count(*) as payment_attempt_count,
        count(*) filter (where payments.payment_status = 'failed') as failed_payment_count,
        sum(payments.amount) filter (
            where payments.payment_status in ('captured', 'refunded')
        ) as captured_amount,
        sum(payments.amount) filter (
            where payments.payment_status = 'refunded'
        ) as refunded_amount,
        max(payments._change_id) as max_change_id
    from payments
    inner join orders_in_scope
        on payments.order_id = orders_in_scope.order_id
    group by 1

),

joined as (

    select
        ---------- ids
        orders_in_scope.order_id,
        orders_in_scope.customer_id,
        dim_customers.customer_key,
        orders_in_scope.session_id,

        ---------- strings
        orders_in_scope.order_status,
        orders_in_scope.currency_code,
        orders_in_scope.ship_country_code,
        orders_in_scope.ship_region,
        orders_in_scope.ship_city,
        orders_in_scope.ship_postal_code,
        dim_customers.country_code as customer_country_code,
        dim_customers.region as customer_region,
        dim_customers.city as customer_city,

        ---------- numerics
        coalesce(items_per_order.item_line_count, 0)::integer as item_line_count,
        coalesce(items_per_order.unit_count, 0)::integer as unit_count,
        orders_in_scope.subtotal_amount::numeric(14, 2) as subtotal_amount,
        orders_in_scope.discount_amount::numeric(14, 2) as discount_amount,
        orders_in_scope.shipping_amount::numeric(14, 2) as shipping_amount,
        orders_in_scope.tax_amount::numeric(14, 2) as tax_amount,
        orders_in_scope.total_amount::numeric(14, 2) as total_amount,
        coalesce(items_per_order.items_line_total, 0)::numeric(14, 2) as items_line_total,
        case
            when orders_in_scope.order_status in ('cancelled', 'returned') then 0
            else orders_in_scope.total_amount
        end::numeric(14, 2) as net_revenue,
        coalesce(payments_per_order.payment_attempt_count, 0)::integer
            as payment_attempt_count,
        coalesce(payments_per_order.failed_payment_count, 0)::integer
            as failed_payment_count,
        coalesce(payments_per_order.captured_amount, 0)::numeric(14, 2) as captured_amount,
        coalesce(payments_per_order.refunded_amount, 0)::numeric(14, 2) as refunded_amount,

        ---------- booleans
        orders_in_scope.order_status = 'cancelled' as is_cancelled,
        orders_in_scope.order_status = 'returned' as is_returned,
        orders_in_scope.paid_at is not null as is_paid,

        ---------- dates
        {{ utc_date('orders_in_scope.placed_at') }} as order_date,

        ---------- timestamps
        orders_in_scope.placed_at,
        orders_in_scope.paid_at,
        orders_in_scope.shipped_at,
        orders_in_scope.delivered_at,
        orders_in_scope.cancelled_at,
        orders_in_scope.returned_at,
        orders_in_scope.updated_at,

        ---------- lineage
        greatest(
            orders_in_scope._change_id,
            items_per_order.max_change_id,
            payments_per_order.max_change_id
        ) as source_change_id

    from orders_in_scope
    left join items_per_order
        on orders_in_scope.order_id = items_per_order.order_id
    left join payments_per_order
        on orders_in_scope.order_id = payments_per_order.order_id
    left join dim_customers
        on
            orders_in_scope.customer_id = dim_customers.customer_id
            and {{ valid_at('dim_customers', 'orders_in_scope.placed_at') }}

)

select * from joined
