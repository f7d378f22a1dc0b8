{#
    Who was active: a signed-in customer counts once across devices and browsers, an
    anonymous visitor by their cookie id. Shared by fct_events and int_visitor_days.
#}
{% macro visitor_key(customer_id, anonymous_id) -%}
    case
        when {{ customer_id }} is not null then 'customer:' || {{ customer_id }}::text
        else 'anonymous:' || {{ anonymous_id }}
    end
{%- endmacro %}

{#
    The clickstream's event types, as lib/events/schema.ts (EVENT_TYPES) defines them;
    tests/contracts/dbt-contracts.unit.test.ts keeps the two, and the accepted_values lists, equal.
#}
{% macro clickstream_event_types() -%}
    {{ return(['page_view', 'product_view', 'add_to_cart', 'remove_from_cart', 'checkout_started', 'order_placed']) }}
{%- endmacro %}
