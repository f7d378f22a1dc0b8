{#
    The reporting "today": the dbt var as_of_date when given (YYYY-MM-DD), else the date of
    the latest order in the data. Nothing reads the wall clock, so a history that ended
    years ago reports as of its own last day.
#}
{% macro as_of_date_sql(orders_relation) -%}
    {%- set given = var('as_of_date', '') -%}
    {%- if given is not none and (given | string | trim) != '' -%}
        '{{ given | string | trim }}'::date
    {%- else -%}
        (select {{ utc_date('max(placed_at)') }} from {{ orders_relation }})
    {%- endif -%}
{%- endmacro %}

{# Whole calendar months from one date's month to another's (2024-11-xx -> 2025-01-xx = 2). #}
{% macro months_between(from_date, to_date) -%}
    (
        (extract(year from {{ to_date }}) - extract(year from {{ from_date }})) * 12
        + extract(month from {{ to_date }}) - extract(month from {{ from_date }})
    )::integer
{%- endmacro %}

{# numerator / denominator rounded to 4 places as numeric(7, 4); null when the denominator is 0. #}
{% macro safe_rate(numerator, denominator) -%}
    round({{ numerator }}::numeric / nullif({{ denominator }}, 0), 4)::numeric(7, 4)
{%- endmacro %}
