{#
    Post-hook of every model: fresh statistics on the table just built. A table created or
    refilled in this run has no (or stale) statistics until autovacuum gets to it, a minute or
    more later; a downstream model planned in between gets row estimates of a few hundred for
    tables of millions and picks nested loops that take seconds instead of milliseconds.

    Tables: always (they are new). Incremental models: only when the table has no statistics
    yet or this run wrote at least a tenth of its rows (autovacuum's own default threshold,
    read from this transaction's counters). A cycle that adds a day to years of history
    leaves the statistics alone: ANALYZE samples a fixed number of rows, but across ever more
    pages, and a day's rows do not change what the planner needs to know (the newest values
    of indexed columns are read from the index itself).
    Views have nothing to analyze.
#}
{% macro analyze_built_table() -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('analyze_built_table')()) }}
    {%- else -%}
        {#- SQLFluff renders the models without dbt, so without an adapter: the Postgres form. -#}
        {{ return(default__analyze_built_table()) }}
    {%- endif -%}
{%- endmacro %}

{# Spark plans from Iceberg's own file statistics: nothing to refresh after a build. #}
{% macro spark__analyze_built_table() -%}
{%- endmacro %}

{% macro default__analyze_built_table() -%}
    {%- set materialized = config.get('materialized') -%}
    {%- if materialized == 'table' -%}
        analyze {{ this }}
    {%- elif materialized == 'incremental' -%}
        do $analyze$
        begin
            if (
                select
                    built.reltuples < 0
                    or coalesce(written.n_tup_ins + written.n_tup_upd + written.n_tup_del, 0)
                    >= 0.1 * built.reltuples
                from pg_class as built
                left join pg_stat_xact_user_tables as written
                    on built.oid = written.relid
                where built.oid = '{{ this.schema }}.{{ this.identifier }}'::regclass
            ) then
                analyze {{ this.schema }}.{{ this.identifier }};
            end if;
        end
        $analyze$
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
