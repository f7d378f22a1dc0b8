-- Orders as the shop API serves them (ingest/api/examples/shop-api.yaml, source
-- shop_api_orders): the latest version of each order. raw.api_records keeps every version;
-- staging, like the CDC path's, shows the current state.

with

source as (

    select * from {{ source('api', 'api_records') }}
    where source_name = 'shop_api_orders'

),

latest as (

    select distinct on (record_key) *
    from source
    order by record_key asc, updated_at desc, api_record_id desc

),

renamed as (

    select
        ---------- ids
        (record ->> 'order_id')::bigint as order_id,
        (record ->> 'customer_id')::bigint as customer_id,

        ---------- strings
        record ->> 'status' as order_status,
        record ->> 'currency' as currency_code,
        record ->> 'ship_country_code' as ship_country_code,

        ---------- numerics
        (record ->> 'subtotal_amount')::numeric(12, 2) as subtotal_amount,
        (record ->> 'discount_amount')::numeric(12, 2) as discount_amount,
        (record ->> 'shipping_amount')::numeric(12, 2) as shipping_amount,
        (record ->> 'tax_amount')::numeric(12, 2) as tax_amount,
        (record ->> 'total_amount')::numeric(12, 2) as total_amount,

        ---------- timestamps
        (record ->> 'placed_at')::timestamptz as placed_at,
        updated_at,
        _loaded_at

    from latest

)

select * from renamed
