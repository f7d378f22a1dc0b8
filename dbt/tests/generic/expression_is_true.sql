{#
    Every row satisfies a SQL boolean expression (rows where it is false or null fail).
    Usage: data_tests: [{expression_is_true: {arguments: {expression: "a >= b"}}}]
#}
{% test expression_is_true(model, expression, column_name = none) %}

select *
from {{ model }}
where not coalesce(
    {%- if column_name is not none %}
    {{ column_name }} {{ expression }}
    {%- else %}
    {{ expression }}
    {%- endif %}
, false)

{% endtest %}
