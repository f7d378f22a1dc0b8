-- Rows of a shop's export (docs/history.md) that history staging leaves out, with the reason:
-- an order whose status is none of the words history_order_status knows, and its lines.

with

orders as (

    {{ history_rows('history_orders', [
        ('order_id', 'bigint'),
        ('status', 'text'),
    ]) }}

),

order_lines as (

    {{ history_rows('history_order_lines', [
        ('order_item_id', 'bigint'),
        ('order_id', 'bigint'),
    ]) }}

),

unknown_status as (

    select
        order_id,
        status
    from orders
    where {{ history_order_status('status') }} is null

),

rejects as (

    select
        'orders' as table_name,
        order_id as row_id,
        'status ' || quote_literal(status) || ' is not an order status history staging knows'
            as reason
    from unknown_status

    union all

    select
        'order_items' as table_name,
        order_lines.order_item_id as row_id,
        'its order ' || order_lines.order_id || ' was left out (status '
        || quote_literal(unknown_status.status) || ')' as reason
    from order_lines
    inner join unknown_status
        on order_lines.order_id = unknown_status.order_id

)

select * from rejects
