{#
    Post-hook of every model: ANALYZE the table just built. A table created or refilled in
    this run has no (or stale) statistics until autovacuum gets to it, a minute or more
    later; a downstream model planned in between gets row estimates of a few hundred for
    tables of millions and picks nested loops that take seconds instead of milliseconds.
    ANALYZE samples a fixed number of rows, so it costs a fraction of a second at any size.
    Views have nothing to analyze.
#}
{% macro analyze_built_table() -%}
    {%- if config.get('materialized') in ['table', 'incremental'] -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
