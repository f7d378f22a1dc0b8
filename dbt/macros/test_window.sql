{#
    Data tests on the event-sized models scan their whole table: at ten years of history that
    costs more than the cycle's new data. Their `where` config names the load-time column as
    __recent_rows__(column); with var test_recent_hours set (the scheduler's micro-batches set
    it) only rows loaded in those hours before the newest one are tested, otherwise all rows.
    Uniqueness across the whole table stays enforced by the models' unique indexes; the
    nightly build and any plain `dbt build` test everything.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set placeholder = modules.re.search('__recent_rows__\\((\\w+)\\)', where) -%}
        {%- if placeholder -%}
            {%- set column = placeholder.group(1) -%}
            {%- set hours = var('test_recent_hours', none) -%}
            {%- if hours is none or not execute -%}
                {%- set condition = 'true' -%}
            {%- else -%}
                {#- A literal, not a subquery: the planner then uses the column's index. -#}
                {%- set newest_sql -%}
                    select (max({{ column }}) - interval '{{ hours | int }} hours')::text from {{ relation }}
                {%- endset -%}
                {%- set since = run_query(newest_sql).columns[0].values()[0] -%}
                {%- set condition = column ~ " >= '" ~ since ~ "'::timestamptz" if since is not none else 'true' -%}
            {%- endif -%}
            {%- set where = where | replace(placeholder.group(0), condition) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
