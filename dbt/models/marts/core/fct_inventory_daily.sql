{#
    Stock per product per day, from the product's first stock record to the as-of date:
    units on hand at the end of the day (the last inventory version of the day, carried
    forward over days without a change), units sold on orders placed that day (cancelled
    orders excluded) and units restocked that day.

    Incremental: days from the earliest day touched by a change after the watermark (or
    the first day not yet built) are rebuilt. That day is looked up first and written in as a
    literal, and only the inventory versions from it on are read, with each product's last
    version before it (the stock carried into the first rebuilt day): a cycle reads a day of
    versions, not the history.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = ['product_id', 'inventory_date'],
        incremental_strategy = 'delete+insert',
        on_schema_change = 'fail',
        meta = {'test_window': '__recent_changes__(source_change_id)'},
        indexes = [
            {'columns': ['product_id', 'inventory_date'], 'unique': true},
            {'columns': ['inventory_date']},
            {'columns': ['source_change_id']},
        ],
    )
}}

-- depends_on: {{ ref('stg_shop__inventory') }}
{%- if is_incremental() %}
{%- set watermark = change_watermark() %}
{%- set start_sql -%}
        least(
            (
                select min((versions.updated_at at time zone 'UTC')::date)
                from {{ ref('stg_shop__inventory_versions') }} as versions
                where versions._change_id > {{ watermark }}
            ),
            (
                select min((restocks.received_at at time zone 'UTC')::date)
                from {{ ref('stg_shop__restocks') }} as restocks
                where restocks._change_id > {{ watermark }}
            ),
            (
                select min(order_items.order_date + 0)
                from {{ ref('fct_order_items') }} as order_items
                where order_items.source_change_id > {{ watermark }}
            ),
            (select max(built.inventory_date) + 1 from {{ this }} as built)
        )
{%- endset %}
{%- set start_date = date_literal(start_sql, '-infinity') %}
{%- else %}
{%- set start_date = "'-infinity'::date" %}
{%- endif %}

with

restocks as (

    select * from {{ ref('stg_shop__restocks') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

build_window as (

    select
        {{ start_date }} as start_date,
        reporting_dates.as_of_date as end_date,
        -- Straight from the tables (their change-id indexes), not the CTEs above.
        greatest(
            (
                select max(all_versions._change_id)
                from {{ ref('stg_shop__inventory_versions') }} as all_versions
            ),
            (
                select max(all_restocks._change_id)
                from {{ ref('stg_shop__restocks') }} as all_restocks
            ),
            (
                select max(all_items.source_change_id)
                from {{ ref('fct_order_items') }} as all_items
            )
        ) as source_change_id
    from reporting_dates

),

{%- if is_incremental() %}

versions_in_scope as (

    -- The table is read three times here; were it a CTE, Postgres would materialise all of
    -- it before any of these filters could use an index.
    select recent.*
    from {{ ref('stg_shop__inventory_versions') }} as recent
    where recent.updated_at >= {{ start_date }}::timestamp at time zone 'UTC'
    union all
    -- Each product's stock carried into the first rebuilt day: its last version before it.
    select carried.*
    from (
        select current_inventory.product_id
        from {{ ref('stg_shop__inventory') }} as current_inventory
        union
        select later.product_id
        from {{ ref('stg_shop__inventory_versions') }} as later
        where later.updated_at >= {{ start_date }}::timestamp at time zone 'UTC'
    ) as products
    cross join lateral (
        select earlier.*
        from {{ ref('stg_shop__inventory_versions') }} as earlier
        where
            earlier.product_id = products.product_id
            and earlier.updated_at < {{ start_date }}::timestamp at time zone 'UTC'
        order by earlier.updated_at desc, earlier._change_id desc
        limit 1
    ) as carried

),

{%- else %}

versions_in_scope as (

    select * from {{ ref('stg_shop__inventory_versions') }}

),

{%- endif %}

day_end_versions as (

    select distinct on (product_id, version_date)
        product_id,
        (updated_at at time zone 'UTC')::date as version_date,
        quantity_on_hand,
        reorder_point,
        reorder_quantity,
        _is_deleted
    from versions_in_scope
    order by product_id asc, version_date asc, updated_at desc, _change_id desc

),

version_ranges as (

    select
        *,
        lead(version_date) over (
            partition by product_id order by version_date asc
        ) as next_version_date
    from day_end_versions

),

days as (

    select
        version_ranges.product_id,
        stock_day::date as inventory_date,
        version_ranges.quantity_on_hand,
        version_ranges.reorder_point,
        version_ranges.reorder_quantity
    from version_ranges
    cross join build_window
    cross join
        lateral generate_series(
            greatest(version_ranges.version_date, build_window.start_date),
            least(
                coalesce(version_ranges.next_version_date - 1, build_window.end_date),
                build_window.end_date
            ),
            interval '1 day'
        ) as stock_day
    where not version_ranges._is_deleted

),

units_sold as (

    select
        order_items.product_id,
        order_items.order_date,
        sum(order_items.quantity) as units_sold
    from order_items
    where
        not order_items.is_cancelled
        and order_items.order_date >= {{ start_date }}
    group by 1, 2

),

units_restocked as (

    select
        restocks.product_id,
        (restocks.received_at at time zone 'UTC')::date as received_date,
        sum(restocks.quantity) as units_restocked
    from restocks
    where restocks.received_at >= {{ start_date }}::timestamp at time zone 'UTC'
    group by 1, 2

),

final as (

    select
        ---------- ids
        days.product_id,

        ---------- dates
        days.inventory_date,

        ---------- numerics
        days.quantity_on_hand,
        days.reorder_point,
        days.reorder_quantity,
        coalesce(units_sold.units_sold, 0)::integer as units_sold,
        coalesce(units_restocked.units_restocked, 0)::integer as units_restocked,

        ---------- booleans
        days.quantity_on_hand <= days.reorder_point as is_at_or_below_reorder_point,
        days.quantity_on_hand <= 0 as is_out_of_stock,

        ---------- lineage
        build_window.source_change_id

    from days
    cross join build_window
    left join units_sold
        on
            days.product_id = units_sold.product_id
            and days.inventory_date = units_sold.order_date
    left join units_restocked
        on
            days.product_id = units_restocked.product_id
            and days.inventory_date = units_restocked.received_date

)

select * from final
