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
