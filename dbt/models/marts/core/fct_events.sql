{#
    The deduplicated clickstream, one row per event, with a visitor key that counts a
    signed-in customer once across devices and an anonymous browser by its cookie id.
#}
{#
    A view: the deduplicated, typed events are already an incremental table in staging, and
    a second copy of millions of rows bought nothing but build time. One plain select, no
    CTE: Postgres flattens such a view into the query using it, so filters, ordering and
    max() reach staging's indexes on event_id, session_id and _loaded_at.
#}
{{
    config(
        materialized = 'view',
    )
}}

select
    ---------- ids
    event_id,
    session_id,
    customer_id,
    anonymous_id,
    {{ visitor_key('customer_id', 'anonymous_id') }} as visitor_id,
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

from {{ ref('stg_clickstream__events') }}
