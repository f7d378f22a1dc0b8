{#
    Sales per product category (as it was when the order was placed) per order day: the
    input of the weekly and monthly category marts, which then sum a few rows per day instead
    of every order line of the history. An order falls on one day, so distinct orders per day
    add up to distinct orders per week or month.

    Incremental: the days of the order lines and orders rebuilt since the last build (an order
    is rebuilt when a line of it changes or is deleted) are computed again, whole, and replace
    what was kept for them.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'order_date',
        incremental_strategy = replace_groups_strategy(),
        partition_by = ['order_date'],
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['order_date', 'category'], 'unique': true},
        ],
    )
}}

-- depends_on: {{ ref('fct_orders') }}
{%- if is_incremental() %}
{%- set watermark = change_watermark() %}
{%- endif %}

with

order_items as (

    select * from {{ ref('fct_order_items') }}

),

{%- if is_incremental() %}

changed_days as (

    select changed_items.order_date
    from {{ ref('fct_order_items') }} as changed_items
    where changed_items.source_change_id > {{ watermark }}
    union
    select changed_orders.order_date
    from {{ ref('fct_orders') }} as changed_orders
    where changed_orders.source_change_id > {{ watermark }}

),

items_in_scope as (

    select order_items.*
    from order_items
    inner join changed_days
        on order_items.order_date = changed_days.order_date

),

{%- else %}

items_in_scope as (

    select * from order_items

),

{%- endif %}

per_day as (

    select
        order_date,
        category,
        count(distinct order_id) as order_count,
        sum(quantity) filter (where not is_cancelled) as unit_count,
        sum(line_total) as gross_revenue,
        sum(net_line_total) as net_revenue,
        max(source_change_id) as source_change_id
    from items_in_scope
    where category is not null
    group by 1, 2

),

final as (

    select
        ---------- strings
        category,

        ---------- numerics
        order_count::integer as order_count,
        coalesce(unit_count, 0)::integer as unit_count,
        gross_revenue::numeric(14, 2) as gross_revenue,
        net_revenue::numeric(14, 2) as net_revenue,

        ---------- dates
        order_date,

        ---------- lineage
        source_change_id

    from per_day

)

select * from final
