{#
    Schemas are exactly staging / snapshots / intermediate / marts, created and owned by the
    transformer role in the warehouse migrations. dbt's default would prefix them with the
    target schema (staging_marts); here a custom schema is used as written.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
