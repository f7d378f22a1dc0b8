{#
    Rows of a shop's export (docs/history.md) that history staging leaves out, each with the file,
    version and line it sits on and a reason a person can act on. Left out rather than staged,
    so dbt build stays green and the marts hold whole orders only (a staged order whose lines
    do not add up would fail fct_orders' tests and stop every mart):

    - a row the file ingestor dead-lettered at landing (a date in another format, a missing
      required value), read from raw.dead_letters for the current version of each file;
    - an order whose status is none of the words history_order_status knows;
    - an order id given twice in one file with different values (which row is the order?);
    - a line whose quantity is not a positive whole number, or whose unit price is negative,
      and then its order (an order is staged with all its lines or not at all);
    - a line whose order is left out, or in neither the export nor the live shop.

    Each row is of the current version of its file: landing a corrected version makes the reject
    go away (ops_staging_rejects reports them; the marts gate fails while any is listed).
#}

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

order_lines as (

    {{ history_rows('history_order_lines', [
        ('order_item_id', 'bigint'),
        ('order_id', 'bigint'),
        ('product_id', 'bigint'),
        ('sku', 'text'),
        ('product_name', 'text'),
        ('category', 'text'),
        ('quantity', 'integer'),
        ('unit_price', 'numeric(12, 2)'),
        ('discount_amount', 'numeric(12, 2)'),
        ('line_total', 'numeric(12, 2)'),
    ]) }}

),

manifest as (

    select * from {{ source('files', 'file_manifest') }}

),

dead_letters as (

    select * from {{ source('ingestion', 'dead_letters') }}

),

-- The live shop's orders (the change log), where a line's order may be instead.
live_orders as (

    select null::bigint as order_id
    where false
    {%- if 'orders' in cdc_existing_typed_tables() %}
    union all
    select order_id::bigint
    from {{ source('raw_shop', 'orders') }}
    where order_id is not null
    {%- endif %}

),

order_records as (

    select
        orders.*,
        to_jsonb(orders) - '_change_id' - '_file_name' - '_file_version' - 'file_id'
        - 'line_number' - '_loaded_at' as record
    from orders

),

line_records as (

    select
        order_lines.*,
        to_jsonb(order_lines) - '_change_id' - '_file_name' - '_file_version' - 'file_id'
        - 'line_number' - '_loaded_at' as record
    from order_lines

),

-- The same order id on two lines of one file, the rows differing: one of them is another order.
-- Identical copies (an export that repeats a row) are one order and not rejected.
duplicated_ids as (

    select
        file_id,
        order_id,
        string_agg(line_number::text, ', ' order by line_number) as on_lines
    from order_records
    group by 1, 2
    having count(distinct record) > 1

),

order_own_rejects as (

    select
        order_records._change_id,
        concat_ws(
            '; ',
            case
                when {{ history_order_status('order_records.status') }} is null
                    then
                        'status ' || quote_literal(order_records.status)
                        || ' is not an order status history staging knows (add the word to'
                        || ' history_order_status in dbt/macros/history.sql, or correct the file)'
            end,
            case
                when duplicated_ids.order_id is not null
                    then
                        'order_id ' || order_records.order_id || ' is on lines '
                        || duplicated_ids.on_lines || ' of ' || order_records._file_name
                        || ' with different values: give each order its own id, or delete'
                        || ' the wrong row'
            end
        ) as reason
    from order_records
    left join duplicated_ids
        on
            order_records.file_id = duplicated_ids.file_id
            and order_records.order_id = duplicated_ids.order_id
    where
        {{ history_order_status('order_records.status') }} is null
        or duplicated_ids.order_id is not null

),

bad_lines as (

    select
        _change_id,
        order_id,
        order_item_id,
        _file_name,
        line_number,
        concat_ws(
            '; ',
            case
                when quantity < 1
                    then
                        'quantity ' || quantity || ' is not a positive number of units'
                        || ' (a return is an order with status returned or refunded)'
            end,
            case
                when unit_price < 0
                    then 'unit_price ' || unit_price || ' is negative'
            end
        ) as reason
    from line_records
    where quantity < 1 or unit_price < 0

),

-- An order is staged whole or not at all: a bad line leaves its order out too.
order_line_rejects as (

    select
        order_records._change_id,
        'its line ' || string_agg(
            bad_lines.order_item_id || ' (' || bad_lines._file_name || ' line '
            || bad_lines.line_number || ')',
            ', ' order by bad_lines.line_number
        ) || ' was left out, and an order is staged with all its lines or not at all' as reason
    from order_records
    inner join bad_lines
        on order_records.order_id = bad_lines.order_id
    group by 1

),

order_rejects as (

    select
        _change_id,
        string_agg(reason, '; ') as reason
    from (
        select * from order_own_rejects
        union all
        select * from order_line_rejects
    ) as reasons
    group by 1

),

-- Orders with a row that is staged.
staged_order_ids as (

    select distinct order_id
    from order_records
    where not exists (
        select 1 from order_rejects
        where order_rejects._change_id = order_records._change_id
    )

),

left_out_orders as (

    select
        order_records.order_id,
        min(order_rejects.reason) as reason
    from order_records
    inner join order_rejects
        on order_records._change_id = order_rejects._change_id
    group by 1

),

-- The dead letters of the current version of each of the export's files.
landing_rejects as (

    select
        manifest.source_name,
        manifest.file_name,
        manifest.version as file_version,
        (dead_letters.details ->> 'line')::bigint as line_number,
        dead_letters.reason,
        jsonb_build_object('line', encode(dead_letters.payload, 'escape')) as record,
        dead_letters._loaded_at
    from dead_letters
    inner join manifest
        on
            dead_letters.details ->> 'source' = manifest.source_name
            and dead_letters.details ->> 'file' = manifest.file_name
            and (dead_letters.details ->> 'version')::integer = manifest.version
    where
        dead_letters.source = 'files'
        and manifest.source_name in ('history_customers', 'history_orders', 'history_order_lines')
        and manifest.layout = 'typed'
        and manifest.version = (
            select max(later.version)
            from manifest as later
            where
                later.source_name = manifest.source_name
                and later.file_name = manifest.file_name
                and later.layout = 'typed'
        )

),

line_rejects as (

    select
        line_records._change_id,
        coalesce(
            bad_lines.reason,
            'its order ' || line_records.order_id || ' was left out (' || left_out_orders.reason
            || ')',
            'its order ' || line_records.order_id
            || ' is in neither the export''s orders nor the live shop'
            || case
                when
                    exists (
                        select 1 from landing_rejects
                        where landing_rejects.source_name = 'history_orders'
                    )
                    then
                        ' (the orders files have rows refused at landing, listed here with'
                        || ' their lines and reasons)'
                else ''
            end
        ) as reason
    from line_records
    left join bad_lines
        on line_records._change_id = bad_lines._change_id
    left join left_out_orders
        on line_records.order_id = left_out_orders.order_id
    where
        bad_lines._change_id is not null
        or (
            not exists (
                select 1 from staged_order_ids
                where staged_order_ids.order_id = line_records.order_id
            )
            and not exists (
                select 1 from live_orders
                where live_orders.order_id = line_records.order_id
            )
        )

),

rejects as (

    select
        'history_orders' as source_name,
        'orders' as table_name,
        order_records.order_id as row_id,
        order_records._file_name as file_name,
        order_records._file_version as file_version,
        order_records.line_number,
        order_rejects.reason,
        order_records.record,
        order_records._change_id,
        order_records._loaded_at
    from order_rejects
    inner join order_records
        on order_rejects._change_id = order_records._change_id

    union all

    select
        'history_order_lines' as source_name,
        'order_items' as table_name,
        line_records.order_item_id as row_id,
        line_records._file_name as file_name,
        line_records._file_version as file_version,
        line_records.line_number,
        line_rejects.reason,
        line_records.record,
        line_records._change_id,
        line_records._loaded_at
    from line_rejects
    inner join line_records
        on line_rejects._change_id = line_records._change_id

    union all

    select
        source_name,
        case source_name
            when 'history_customers' then 'customers'
            when 'history_orders' then 'orders'
            else 'order_items'
        end as table_name,
        null::bigint as row_id,
        file_name,
        file_version,
        line_number,
        'refused at landing: ' || reason as reason,
        record,
        null::bigint as _change_id,
        _loaded_at
    from landing_rejects

),

final as (

    select
        ---------- ids
        row_id,

        ---------- strings
        source_name,
        table_name,
        file_name,
        reason,

        ---------- numerics
        file_version,
        line_number,
        _change_id,

        ---------- json
        record as rejected_record,

        ---------- timestamps
        _loaded_at

    from rejects

)

select * from final
