{#
    The deduplicated clickstream, one row per event, with a visitor key that counts a
    signed-in customer once across devices and an anonymous browser by its cookie id.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'event_id',
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['event_date']},
            {'columns': ['loaded_at']},
            {'columns': ['session_id']},
        ],
    )
}}

with

events as (

    select * from {{ ref('stg_clickstream__events') }} as staged
    {%- if is_incremental() %}
    where
        _loaded_at > (
            select
                coalesce(max(kept.loaded_at), '-infinity'::timestamptz)
                - interval '{{ var("events_lookback_minutes") }} minutes'
            from {{ this }} as kept
        )
        and not exists (
            select 1 from {{ this }} as kept
            where kept.event_id = staged.event_id
        )
    {%- endif %}

),

final as (

    select
        ---------- ids
        event_id,
        session_id,
        customer_id,
        anonymous_id,
        case
            when customer_id is not null then 'customer:' || customer_id::text
            else 'anonymous:' || anonymous_id
        end as visitor_id,
        product_id,
        order_id,

        ---------- strings
        event_type,
        device,
        country_code,
        page_url,
        referrer,

        ---------- numerics
        price::numeric(14, 2) as price,
        quantity,
        cart_value::numeric(14, 2) as cart_value,
        item_count,
        order_total::numeric(14, 2) as order_total,

        ---------- dates
        (event_at at time zone 'UTC')::date as event_date,

        ---------- timestamps
        event_at,
        _loaded_at as loaded_at

    from events

)

select * from final
