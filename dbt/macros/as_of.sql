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
        (select max(placed_at)::date from {{ orders_relation }})
    {%- endif -%}
{%- endmacro %}
